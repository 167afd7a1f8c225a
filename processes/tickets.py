"""Support tickets as the CS KPIs read them: one row per support instance, kept in step by listeners on the
engine's audit actions (created at start, first response, resolution, first-contact resolution).

- ``instance_started`` of process ``support`` with a customer: the ticket row (created now; a repeat when the same
  customer opened another ticket within the previous 30 days). A start without a customer makes no ticket.
- ``task_completed`` of ``first_response`` or ``escalate_first_response``: the first response (the first one only)
  and ``first_contact_resolution`` from the form's ``resolved_first_contact``.
- ``task_completed`` of ``resolve_ticket``: resolved now. ``instance_completed`` resolves a ticket still open whose
  first response resolved it (a model without a resolve step).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Boolean, ForeignKey, Index, String, select
from sqlalchemy.orm import Mapped, mapped_column

from engine import AuditAction, HandlerRegistry, Happened
from engine.models import Base, UTCDateTime
from processes.customers import Customer

PROCESS = "support"
FIRST_RESPONSE_STEPS = ("first_response", "escalate_first_response")
RESOLVE_STEP = "resolve_ticket"
FCR_FIELD = "resolved_first_contact"
REPEAT_WINDOW = timedelta(days=30)


class SupportTicket(Base):
    __tablename__ = "support_ticket"
    __table_args__ = (
        Index("ix_support_ticket_customer_created", "customer_id", "created_at"),
        Index("ix_support_ticket_resolved", "resolved_at"),  # first-contact resolution of a period
    )

    instance_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.id"))
    subject: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_contact_resolution: Mapped[bool | None] = mapped_column(Boolean)
    # opened within 30 days of the same customer's previous ticket (a repeat), or reopened
    repeat_within_30d: Mapped[bool] = mapped_column(Boolean, default=False)


def _truthy(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes", "on")
    return bool(value)


def _ticket(happened: Happened) -> SupportTicket | None:
    if happened.process_id != PROCESS:
        return None
    return happened.session.get(SupportTicket, happened.instance_id)


def ticket_opened(happened: Happened) -> None:
    """A support instance started for a known customer opens its ticket."""
    if happened.process_id != PROCESS or not happened.customer_id:
        return
    session = happened.session
    if session.get(Customer, happened.customer_id) is None:
        return
    if session.get(SupportTicket, happened.instance_id) is not None:
        return
    data = happened.payload.get("data") or {}
    earlier = session.execute(
        select(SupportTicket.instance_id)
        .where(
            SupportTicket.customer_id == happened.customer_id,
            SupportTicket.created_at >= happened.now - REPEAT_WINDOW,
            SupportTicket.created_at <= happened.now,
        )
        .limit(1)
    ).first()
    session.add(
        SupportTicket(
            instance_id=happened.instance_id,
            customer_id=happened.customer_id,
            subject=str(data.get("subject") or "")[:300],
            created_at=happened.now,
            repeat_within_30d=earlier is not None,
        )
    )
    session.flush()


def ticket_step_done(happened: Happened) -> None:
    """First response (with first-contact resolution) and resolution, from the completed support steps."""
    element = happened.payload.get("element")
    if element not in (*FIRST_RESPONSE_STEPS, RESOLVE_STEP):
        return
    ticket = _ticket(happened)
    if ticket is None:
        return
    if element == RESOLVE_STEP:
        if ticket.resolved_at is None:
            ticket.resolved_at = happened.now
    elif ticket.first_response_at is None:
        ticket.first_response_at = happened.now
        after = happened.payload.get("after") or {}
        ticket.first_contact_resolution = _truthy(after.get(FCR_FIELD, False))
    happened.session.flush()


def ticket_closed(happened: Happened) -> None:
    """An instance that ends after a first response that solved the problem resolves its ticket."""
    ticket = _ticket(happened)
    if ticket is not None and ticket.resolved_at is None and ticket.first_contact_resolution:
        ticket.resolved_at = happened.now
        happened.session.flush()


def register(registry: HandlerRegistry) -> None:
    registry.listen(AuditAction.INSTANCE_STARTED, ticket_opened)
    registry.listen(AuditAction.TASK_COMPLETED, ticket_step_done)
    registry.listen(AuditAction.INSTANCE_COMPLETED, ticket_closed)
