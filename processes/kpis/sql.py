"""SQL helpers the CS KPIs share: the period's instants, seconds since the epoch of a timestamp column (the one
construct compiled per dialect), and a median taken in the database by ORDER BY + OFFSET."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Float, Select, SQLColumnExpression, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from processes.customers import Customer

AnySelect = Select[*tuple[Any, ...]]
Query = TypeVar("Query", bound=AnySelect)

# MRR below half a cent is zero: MRR at an instant is computed as current MRR minus later movements, and float
# sums leave residues such as 1e-13 where the value is really 0.
CENT = 0.005
TICK = timedelta(microseconds=1)


def start_of(day: date) -> datetime:
    """``day`` 00:00 UTC."""
    return datetime.combine(day, time(), UTC)


def end_of(day: date) -> datetime:
    """The last instant of ``day`` (23:59:59.999999 UTC): what is in force at the end of the day."""
    return start_of(day + timedelta(days=1)) - TICK


def add_months(day: date, months: int) -> date:
    """``day`` moved by ``months`` calendar months, clipped to the month's last day (31 Mar - 1 month = 28 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def month_end(day: date) -> date:
    return date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])


def months_before(day: date, months: int) -> date:
    """The same day ``months`` calendar months earlier; a month's last day maps to that month's last day (30 Jun
    -> 31 Mar for a quarter), other days are clipped (31 Mar - 1 month = 28 Feb)."""
    earlier = add_months(day, -months)
    return month_end(earlier) if day == month_end(day) else earlier


@dataclass(frozen=True)
class Period:
    """Days ``first``..``last`` inclusive: start instant ``first`` 00:00 UTC, end instant ``last`` 23:59:59.999999;
    timestamps ``at`` in the period satisfy ``since <= at < until``."""

    first: date
    last: date

    @property
    def since(self) -> datetime:
        return start_of(self.first)

    @property
    def until(self) -> datetime:
        return start_of(self.last + timedelta(days=1))

    @property
    def end(self) -> datetime:
        return end_of(self.last)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


@dataclass(frozen=True)
class Scope:
    """Which customers: a segment and/or a CSM owner (their current values on the customer record)."""

    segment: str | None = None
    owner: str | None = None

    @property
    def narrowed(self) -> bool:
        return bool(self.segment or self.owner)

    def on_customer(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.segment:
            found.append(Customer.segment == self.segment)
        if self.owner:
            found.append(Customer.csm_owner == self.owner)
        return found

    def joined(self, query: Query, customer_id: Any) -> Query:
        """``query`` limited to the scope's customers, joining the customer table only when narrowed."""
        if not self.narrowed:
            return query
        return query.join(Customer, Customer.id == customer_id).where(*self.on_customer())


class epoch_seconds(FunctionElement[float]):
    """Seconds since 1970 of a timestamp column: differences of two are durations in seconds."""

    type = Float()
    name = "epoch_seconds"
    inherit_cache = True


@compiles(epoch_seconds)
def _epoch_default(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})"


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite stores timestamps as "YYYY-MM-DD HH:MM:SS.ffffff" (UTC); julianday reads that text
    return f"((julianday({compiler.process(element.clauses, **kw)}) - 2440587.5) * 86400.0)"


def median(session: Session, values: AnySelect) -> float | None:
    """The median of the one-column query ``values`` (None when it has no rows), computed by the database in one
    sort: each value's rank and the count (window functions), then the middle one or two rows averaged."""
    inner = values.subquery()
    value = inner.c[0]
    ranked = select(
        value.label("v"),
        func.row_number().over(order_by=value).label("rank"),
        func.count().over().label("n"),
    ).subquery()
    middle = select(func.avg(ranked.c.v)).where(
        ranked.c.rank.in_([(ranked.c.n + 1) // 2, (ranked.c.n + 2) // 2])  # integer division: 1 or 2 middle rows
    )
    found = session.execute(middle).scalar()
    return None if found is None else float(found)


def unindexed(column: SQLColumnExpression[str]) -> ColumnElement[str]:
    """A text column as an expression no index serves (``column || ''``): SQLite's planner, without statistics,
    would otherwise walk a whole index on it (e.g. every ``customer_updated`` audit row, or every movement in
    customer order to avoid a sort) instead of the time range of the period; PostgreSQL plans by statistics
    either way."""
    return column.concat("")
