"""The health score: a 0-100 weighted average of components, weights and thresholds in config.toml, with history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.models import Base, UTCDateTime


class HealthSnapshot(Base):
    """One computed score: kept as history (the trend), the newest is also on the customer row."""

    __tablename__ = "health_snapshot"
    __table_args__ = (Index("ix_health_snapshot_customer_at", "customer_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    score: Mapped[float] = mapped_column(Float)
    band: Mapped[str] = mapped_column(String(20))
    components: Mapped[str] = mapped_column(Text)  # JSON: {name: {"value": 0-100, "weight": w, "detail": ...}}
    reason: Mapped[str] = mapped_column(String(200), default="")  # the input that changed
