"""MRR, logo churn, GRR and NRR of a period without scanning every movement.

A customer's MRR at an instant t is the ``new_mrr`` of its latest movement at or before t (0 before the first).
Since each movement's ``old_mrr`` is the value in force just before it (``record_mrr`` keeps that chain), and the
customer's ``mrr`` column is its newest movement's value:

    mrr_at(c, t) = c.mrr - sum(new_mrr - old_mrr of c's movements with at > t)

So customers with no movement after the period's start keep their current MRR throughout (one aggregate over
the customer table), and only the customers with movements after the start need per-customer work: one GROUP BY
over those movements (read through the index on ``mrr_movement.at``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, SQLColumnExpression, and_, case, func, select
from sqlalchemy.orm import Session

from processes.customers import Customer, MrrMovement
from processes.kpis.sql import CENT, Period, Scope, unindexed

DELTA = MrrMovement.new_mrr - MrrMovement.old_mrr


@dataclass(frozen=True)
class MrrFigures:
    customers_start: int
    customers_end: int
    mrr_start: float
    mrr_end: float
    churned: int  # start customers with no MRR at the end
    cohort_end: float  # sum of the start customers' MRR at the end
    cohort_kept: float  # sum of min(end, start) over the start customers


@dataclass(frozen=True)
class Current:
    """The scope's customers now: how many have MRR, the sum of it (the same as everyone's MRR but residues)."""

    customers: int
    mrr: float
    total: float


def current(session: Session, scope: Scope) -> Current:
    """One pass over the scope's customers (shared by every figure of a request)."""
    mrr = Customer.mrr
    query = select(
        func.count(case((mrr > CENT, 1))),
        func.coalesce(func.sum(case((mrr > CENT, mrr), else_=0.0)), 0.0),
        func.coalesce(func.sum(mrr), 0.0),
    ).where(*scope.on_customer())
    n, active, total = session.execute(query).one()
    return Current(int(n), float(active), float(total))


def figures(session: Session, period: Period, scope: Scope, now: Current) -> MrrFigures:
    """The MRR figures of ``period``: start at its start instant, end at its end instant, the start customers as
    the cohort; ``now`` is ``current(session, scope)``."""
    n_now, mrr_now = now.customers, now.mrr
    customer = unindexed(MrrMovement.customer_id)  # read the movements after the start by the index on ``at``
    moved = (
        select(
            customer.label("customer_id"),
            func.sum(DELTA).label("since_start"),
            func.sum(case((MrrMovement.at > period.end, DELTA), else_=0.0)).label("since_end"),
        )
        .where(MrrMovement.at > period.since)
        .group_by(customer)
        .subquery()
    )
    mrr = Customer.mrr
    start = mrr - moved.c.since_start
    end = mrr - moved.c.since_end
    kept = case((end < start, end), else_=start)
    in_cohort = start > CENT

    def total(value: SQLColumnExpression[float], where: ColumnElement[bool]) -> ColumnElement[float]:
        return func.coalesce(func.sum(case((where, value), else_=0.0)), 0.0)

    query = (
        select(
            func.count(case((mrr > CENT, 1))),
            total(mrr, mrr > CENT),
            func.count(case((in_cohort, 1))),
            total(start, in_cohort),
            func.count(case((end > CENT, 1))),
            total(end, end > CENT),
            total(end, and_(in_cohort, end > CENT)),
            total(kept, and_(in_cohort, end > CENT)),
            func.count(case((and_(in_cohort, end <= CENT), 1))),
        )
        .select_from(moved)
        .join(Customer, Customer.id == moved.c.customer_id)
        .where(*scope.on_customer())
    )
    row = session.execute(query).one()
    n_moved, mrr_moved = int(row[0]), float(row[1])
    steady_n, steady_mrr = n_now - n_moved, mrr_now - mrr_moved  # no movement since the start: unchanged
    return MrrFigures(
        customers_start=steady_n + int(row[2]),
        customers_end=steady_n + int(row[4]),
        mrr_start=steady_mrr + float(row[3]),
        mrr_end=steady_mrr + float(row[5]),
        churned=int(row[8]),
        cohort_end=steady_mrr + float(row[6]),
        cohort_kept=steady_mrr + float(row[7]),
    )


def mrr_at(session: Session, instants: list[datetime], scope: Scope, now: Current) -> list[float]:
    """The scope's total MRR at each instant: everyone's MRR now minus every movement after the instant, in one
    pass over the movements after the earliest instant."""
    if not instants:
        return []
    total_now = now.total
    query = select(
        *(func.coalesce(func.sum(case((MrrMovement.at > moment, DELTA), else_=0.0)), 0.0) for moment in instants)
    ).where(MrrMovement.at > min(instants))
    later = session.execute(scope.joined(query, MrrMovement.customer_id)).one()
    return [max(0.0, total_now - float(value)) for value in later]
