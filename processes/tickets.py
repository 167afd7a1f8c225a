"""Support tickets as the CS KPIs read them: one row per support instance, kept in step by listeners on the
engine's audit actions (created at start, first response, resolution, first-contact resolution)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.models import Base, UTCDateTime


class SupportTicket(Base):
    __tablename__ = "support_ticket"
    __table_args__ = (Index("ix_support_ticket_customer_created", "customer_id", "created_at"),)

    instance_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.id"))
    subject: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_contact_resolution: Mapped[bool | None] = mapped_column(Boolean)
    # opened within 30 days of the same customer's previous ticket (a repeat), or reopened
    repeat_within_30d: Mapped[bool] = mapped_column(Boolean, default=False)
