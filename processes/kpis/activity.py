"""The KPIs read from rollups and small tables: surveys and product usage (``cs_daily``, a few rows per day),
support tickets (``support_ticket``) and onboarding times (journey instances, go-live, first quick win)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, ScalarSelect, Subquery, and_, case, func, select
from sqlalchemy.orm import Session

from engine import AuditAction
from engine.models import AuditEvent, ProcessInstance, TaskKpi
from processes.kpis.sql import Period, Scope, epoch_seconds, median, unindexed
from processes.rollups import CsDaily
from processes.tickets import SupportTicket

JOURNEY = "customer_journey"
# Go-live: the customer's stage first moving to "active" (the journey's set_stage_active after quick wins, or a
# person editing the customer), as audited by customer_updated. The audit payload is canonical JSON (sorted keys,
# no spaces), so "after" comes before "before" and holds flat values only.
GO_LIVE_ACTION = AuditAction.CUSTOMER_UPDATED
GO_LIVE_PAYLOAD = '%"after":{%"stage":"active"%},"before":%'
# First value: the quick_wins process's "Confirm first win achieved" step completed.
FIRST_WIN_STEP = "confirm_first_win"
DAY, HOUR = 86400.0, 3600.0


@dataclass(frozen=True)
class Rollup:
    nps_n: int
    nps_promoters: int
    nps_detractors: int
    csat_n: int
    csat_satisfied: int
    ces_n: int
    ces_sum: float
    events: int
    active_days: int


def rollup(session: Session, period: Period, scope: Scope) -> Rollup:
    """The period's sums from cs_daily (answers and events count under the segment and owner they arrived with)."""
    columns = (
        CsDaily.nps_n,
        CsDaily.nps_promoters,
        CsDaily.nps_detractors,
        CsDaily.csat_n,
        CsDaily.csat_satisfied,
        CsDaily.ces_n,
        CsDaily.ces_sum,
        CsDaily.events,
        CsDaily.active_days,
    )
    query = select(*(func.coalesce(func.sum(c), 0) for c in columns)).where(
        CsDaily.day >= period.first, CsDaily.day <= period.last
    )
    if scope.segment:
        query = query.where(CsDaily.segment == scope.segment)
    if scope.owner:
        query = query.where(CsDaily.csm_owner == scope.owner)
    row = session.execute(query).one()
    n = [int(v) for v in row]
    return Rollup(n[0], n[1], n[2], n[3], n[4], n[5], float(row[6]), n[7], n[8])


@dataclass(frozen=True)
class Tickets:
    created: int
    repeats: int
    resolved: int
    resolved_first_contact: int
    frt_median_hours: float | None


def tickets(session: Session, period: Period, scope: Scope) -> Tickets:
    t = SupportTicket
    created_in = and_(t.created_at >= period.since, t.created_at < period.until)
    resolved_in = and_(t.resolved_at >= period.since, t.resolved_at < period.until)
    opened = select(func.count(), func.count(case((t.repeat_within_30d.is_(True), 1)))).where(created_in)
    created, repeats = session.execute(scope.joined(opened, t.customer_id)).one()
    closed = select(func.count(), func.count(case((t.first_contact_resolution.is_(True), 1)))).where(resolved_in)
    resolved, first_contact = session.execute(scope.joined(closed, t.customer_id)).one()
    hours = (epoch_seconds(t.first_response_at) - epoch_seconds(t.created_at)) / HOUR
    waits = select(hours.label("v")).where(created_in, t.first_response_at.is_not(None))
    frt = median(session, scope.joined(waits, t.customer_id))
    return Tickets(int(created), int(repeats), int(resolved), int(first_contact), frt)


def _journey_start(customer_id: ColumnElement[Any], before: ColumnElement[Any]) -> ScalarSelect[Any]:
    """The start of the customer's latest journey at or before ``before`` (a correlated scalar subquery): a
    customer onboarded again (a new journey after a churn) is measured from its new journey."""
    return (
        select(func.max(ProcessInstance.started_at))
        .where(
            ProcessInstance.customer_id == customer_id,
            ProcessInstance.process_id == JOURNEY,
            ProcessInstance.started_at <= before,
        )
        .scalar_subquery()
    )


def time_to_implement_days(session: Session, period: Period, scope: Scope) -> float | None:
    """Median days from journey start to go-live, over the customers that went live in the period (each one's
    first go-live in the period)."""
    a = AuditEvent
    live = (
        select(a.customer_id.label("customer_id"), func.min(a.at).label("at"))
        .where(
            unindexed(a.action) == GO_LIVE_ACTION,  # by the index on ``at``: the period, not every such row
            a.at >= period.since,
            a.at < period.until,
            a.customer_id.is_not(None),
            a.payload.like(GO_LIVE_PAYLOAD),
        )
        .group_by(a.customer_id)
        .subquery()
    )
    return _median_days(session, live, scope)


def time_to_first_value_days(session: Session, period: Period, scope: Scope) -> float | None:
    """Median days from journey start to the first quick win, over the customers with a first win in the period."""
    k, i = TaskKpi, ProcessInstance
    # quick_wins runs inside the journey instance (a call activity): its start is the journey start, no lookup
    own_journey = func.max(case((i.process_id == JOURNEY, i.started_at)))
    wins = (
        select(i.customer_id.label("customer_id"), func.min(k.completed_at).label("at"), own_journey.label("started"))
        .select_from(k)
        .join(i, i.id == k.instance_id)
        .where(
            k.element_id == FIRST_WIN_STEP,
            k.completed_at >= period.since,
            k.completed_at < period.until,
            i.customer_id.is_not(None),
        )
        .group_by(i.customer_id)
        .subquery()
    )
    return _median_days(session, wins, scope)


def _median_days(session: Session, reached: Subquery, scope: Scope) -> float | None:
    """Median of (reached.at - journey start) in days over the rows of ``reached`` (customer_id, at, and the journey
    start when already known as ``started``)."""
    started: ColumnElement[Any] = _journey_start(reached.c.customer_id, reached.c.at)
    if "started" in reached.c:
        started = func.coalesce(reached.c.started, started)
    spans = select(reached.c.customer_id, reached.c.at, started.label("started")).subquery()
    days = (epoch_seconds(spans.c.at) - epoch_seconds(spans.c.started)) / DAY
    query = select(days.label("v")).where(spans.c.started.is_not(None))
    return median(session, scope.joined(query, spans.c.customer_id))
