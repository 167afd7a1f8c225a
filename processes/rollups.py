"""Rollups kept as events, answers and tickets arrive, so the CS KPIs of a period read a few rows per day instead
of scanning every event and answer. ``cs_daily`` holds one row per (day, segment, CSM owner) with the sums the
KPIs need; an answer or event counts under the segment and owner its customer had when it arrived.
``customer_day`` marks the days on which a customer used the product (its active days)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Date, Float, ForeignKey, Index, Integer, String, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.models import Base, core
from processes.customers import Customer


class CsDaily(Base):
    __tablename__ = "cs_daily"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    segment: Mapped[str] = mapped_column(String(30), primary_key=True)
    csm_owner: Mapped[str] = mapped_column(String(100), primary_key=True)  # "" when the customer has none
    nps_n: Mapped[int] = mapped_column(Integer, default=0)
    nps_promoters: Mapped[int] = mapped_column(Integer, default=0)  # 9-10
    nps_detractors: Mapped[int] = mapped_column(Integer, default=0)  # 0-6
    csat_n: Mapped[int] = mapped_column(Integer, default=0)
    csat_satisfied: Mapped[int] = mapped_column(Integer, default=0)  # 4-5
    ces_n: Mapped[int] = mapped_column(Integer, default=0)
    ces_sum: Mapped[float] = mapped_column(Float, default=0.0)
    events: Mapped[int] = mapped_column(Integer, default=0)
    active_days: Mapped[int] = mapped_column(Integer, default=0)  # customer-days with at least one event


class CustomerDay(Base):
    __tablename__ = "customer_day"
    __table_args__ = (Index("ix_customer_day_day", "day"),)

    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    events: Mapped[int] = mapped_column(Integer, default=0)


def _upsert(
    session: Session, model: type[Base], keys: Mapping[str, Any], increments: Mapping[str, int | float]
) -> None:
    """Add ``increments`` to the row of ``keys`` (created with them if missing), in one statement."""
    table = core(model)
    dialect = session.get_bind().dialect.name
    insert = pg_insert(table) if dialect == "postgresql" else sqlite_insert(table)
    statement = insert.values(**keys, **increments).on_conflict_do_update(
        index_elements=list(keys),
        set_={name: getattr(table.c, name) + getattr(insert.excluded, name) for name in increments},
    )
    session.execute(statement)


def _bucket(customer: Customer, at: datetime) -> dict[str, Any]:
    return {"day": at.astimezone(UTC).date(), "segment": customer.segment or "", "csm_owner": customer.csm_owner or ""}


def count_answer(session: Session, customer: Customer, kind: str, score: int, at: datetime) -> None:
    """Add one survey answer to the day's rollup of the customer's segment and owner."""
    if kind == "nps":
        counts = {"nps_n": 1, "nps_promoters": int(score >= 9), "nps_detractors": int(score <= 6)}
    elif kind == "csat":
        counts = {"csat_n": 1, "csat_satisfied": int(score >= 4)}
    else:
        counts = {"ces_n": 1, "ces_sum": score}
    _upsert(session, CsDaily, _bucket(customer, at), counts)


def count_events(session: Session, customer: Customer, at: datetime, events: int = 1) -> None:
    """Add ``events`` product events of ``customer`` on ``at``'s day to the rollups: the customer's day (an active
    day the first time) and the day's totals of its segment and owner."""
    day = at.astimezone(UTC).date()
    key = {"customer_id": customer.id, "day": day}
    existing = session.execute(
        select(CustomerDay.events).where(CustomerDay.customer_id == customer.id, CustomerDay.day == day)
    ).scalar_one_or_none()
    if existing is None:
        session.add(CustomerDay(**key, events=events))
        session.flush()
    else:
        _upsert(session, CustomerDay, key, {"events": events})
    _upsert(session, CsDaily, _bucket(customer, at), {"events": events, "active_days": int(existing is None)})
