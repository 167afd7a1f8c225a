"""Product usage events: stored append-only (indexed by customer and time), delivered to waiting instances, and
the ledger of playbooks they started (for the one-open-instance guard and the cooldown)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.models import Base, UTCDateTime
from processes import rollups
from processes.customers import Customer


class ProductEvent(Base):
    __tablename__ = "product_event"
    __table_args__ = (Index("ix_product_event_customer_at", "customer_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.id"))
    name: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    properties: Mapped[str] = mapped_column(Text, default="{}")  # a JSON object
    source: Mapped[str] = mapped_column(String(20), default="api")  # api | import | demo
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PlaybookRun(Base):
    """A playbook process started by a rule (an event, a threshold, a health band): guard and cooldown read it."""

    __tablename__ = "playbook_run"
    __table_args__ = (Index("ix_playbook_run_customer_process", "customer_id", "process_id", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.id"))
    process_id: Mapped[str] = mapped_column(String(200))
    rule: Mapped[str] = mapped_column(String(100))
    trigger: Mapped[str] = mapped_column(Text, default="")  # what fired it, for people
    instance_id: Mapped[str | None] = mapped_column(String(36))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)


def record_event(
    session: Session,
    *,
    customer: Customer,
    name: str,
    at: datetime,
    properties: Mapping[str, Any],
    source: str,
    now: datetime,
) -> ProductEvent:
    """Store one product event and count it in the customer's and the day's rollups."""
    event = ProductEvent(
        customer_id=customer.id,
        name=name,
        at=at,
        properties=json.dumps(dict(properties), sort_keys=True, default=str),
        source=source,
        received_at=now,
    )
    session.add(event)
    rollups.count_events(session, customer, at)
    return event
