"""The customers list as the page, the API and the CLI read it: filters, sorts (at-risk first by default) and one
page at a time; the open / overdue / stuck task counts and the health trend are read for that page's customers only,
each with one query, so a page costs the same at 1,000 and at 100,000 customers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select
from sqlalchemy.orm import Session

from engine import OPEN_TASK_STATES
from engine.models import HumanTask
from processes.customers import Customer
from processes.health import HealthSnapshot

SORTS = ("health", "name", "segment", "owner", "stage", "mrr", "renewal", "open", "overdue", "stuck")
TREND_DAYS = 30
TREND_STEP = 2.0  # a score move smaller than this reads as flat


@dataclass(frozen=True)
class ListFilters:
    owner: str | None = None
    segment: str | None = None
    stage: str | None = None
    band: str | None = None  # healthy | watch | at_risk | none (no score yet)
    q: str | None = None  # id, name, e-mail or external id contains
    at_risk: bool = False
    archived: bool = False  # the archived customers instead of the live ones
    sort: str = "health"
    descending: bool = False
    limit: int = 50
    offset: int = 0


@dataclass
class Row:
    customer: Customer
    open_tasks: int = 0
    overdue_tasks: int = 0
    stuck_tasks: int = 0
    previous_score: float | None = None  # the score about TREND_DAYS ago (or the oldest one since)
    trend: str = "none"  # up | down | flat | none


# The list counts its matches only this far past the page shown: an exact count of 100,000 customers costs more
# than the page itself, and "more than 1,000" is all a person needs to know to narrow the filters.
COUNT_AHEAD = 1_000


@dataclass
class Page:
    rows: list[Row]
    total: int  # the matches, counted up to ``offset + COUNT_AHEAD``
    filters: ListFilters
    extra: dict[str, Any] = field(default_factory=dict)
    more: bool = False  # there are more matches than ``total``


def _where(filters: ListFilters) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [
        Customer.archived_at.is_not(None) if filters.archived else Customer.archived_at.is_(None),
        Customer.purged_at.is_(None),
    ]
    if filters.owner:
        where.append(Customer.csm_owner == filters.owner)
    if filters.segment:
        where.append(Customer.segment == filters.segment)
    if filters.stage:
        where.append(Customer.stage == filters.stage)
    if filters.at_risk:
        where.append(Customer.health_band == "at_risk")
    if filters.band == "none":
        where.append(Customer.health_band.is_(None))
    elif filters.band:
        where.append(Customer.health_band == filters.band)
    if filters.q and filters.q.strip():
        text = "%" + filters.q.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where.append(
            or_(
                *(
                    func.lower(column).like(text, escape="\\")
                    for column in (Customer.id, Customer.name, Customer.email, Customer.external_id)
                )
            )
        )
    return where


def _task_counts(now: datetime) -> Any:
    """Open / overdue / stuck open-task counts per customer (a subquery, for the sorts by those columns)."""
    return (
        select(
            HumanTask.customer_id.label("customer_id"),
            func.count().label("open"),
            func.sum(case((HumanTask.due_at < now, 1), else_=0)).label("overdue"),
            func.sum(case((HumanTask.stuck_at < now, 1), else_=0)).label("stuck"),
        )
        .where(HumanTask.state.in_(OPEN_TASK_STATES), HumanTask.customer_id.is_not(None))
        .group_by(HumanTask.customer_id)
        .subquery()
    )


def _ordered(query: Select[Any], filters: ListFilters, now: datetime) -> Select[Any]:
    sort = filters.sort if filters.sort in SORTS else "health"
    if sort == "health":
        band = case((Customer.health_band == "at_risk", 0), (Customer.health_band == "watch", 1), else_=2)
        score = Customer.health_score.desc() if filters.descending else Customer.health_score.asc()
        keys: list[Any] = [band.desc() if filters.descending else band, score.nulls_last()]
    elif sort in ("open", "overdue", "stuck"):
        counts = _task_counts(now)
        query = query.outerjoin(counts, counts.c.customer_id == Customer.id)
        count = func.coalesce(counts.c[sort], 0)
        # most first unless asked otherwise: that is the question a sort by tasks asks
        keys = [count.asc() if filters.descending else count.desc()]
    else:
        column = {
            "name": Customer.name,
            "segment": Customer.segment,
            "owner": Customer.csm_owner,
            "stage": Customer.stage,
            "mrr": Customer.mrr,
            "renewal": Customer.renewal_date,
        }[sort]
        keys = [(column.desc() if filters.descending else column.asc()).nulls_last()]
    return query.order_by(*keys, Customer.name, Customer.id)


def customers_page(session: Session, filters: ListFilters, now: datetime) -> Page:
    where = _where(filters)
    horizon = filters.offset + COUNT_AHEAD
    matches = select(Customer.id).where(*where).limit(horizon + 1).subquery()
    total = session.execute(select(func.count()).select_from(matches)).scalar_one()
    if filters.sort in ("health", "") or filters.sort not in SORTS:
        customers = _by_health(session, where, filters)
    else:
        query = _ordered(select(Customer).where(*where), filters, now).limit(filters.limit).offset(filters.offset)
        customers = list(session.execute(query).scalars())
    rows = [Row(customer) for customer in customers]
    _fill(session, rows, now)
    return Page(rows, min(total, horizon), filters, more=total > horizon)


def _by_health(session: Session, where: list[ColumnElement[bool]], filters: ListFilters) -> list[Customer]:
    """At risk first, then watch, then by score; customers without a score last. The bands are thresholds on the
    score, so this is score order: the scored customers are read along ix_customer_health a page at a time (no sort
    of the whole table), and the unscored ones only once the page runs past the last scored customer."""
    score = Customer.health_score.desc() if filters.descending else Customer.health_score.asc()
    scored = list(
        session.execute(
            select(Customer)
            .where(*where, Customer.health_score.is_not(None))
            .order_by(score, Customer.name, Customer.id)
            .limit(filters.limit)
            .offset(filters.offset)
        ).scalars()
    )
    if len(scored) == filters.limit:
        return scored
    with_score = session.execute(
        select(func.count()).select_from(Customer).where(*where, Customer.health_score.is_not(None))
    ).scalar_one()
    rest = session.execute(
        select(Customer)
        .where(*where, Customer.health_score.is_(None))
        .order_by(Customer.name, Customer.id)
        .limit(filters.limit - len(scored))
        .offset(max(0, filters.offset - with_score))
    ).scalars()
    return scored + list(rest)


def _fill(session: Session, rows: Sequence[Row], now: datetime) -> None:
    """Task counts and trends for these rows: one grouped query each."""
    if not rows:
        return
    by_id = {row.customer.id: row for row in rows}
    ids = list(by_id)
    counts = session.execute(
        select(
            HumanTask.customer_id,
            func.count(),
            func.sum(case((HumanTask.due_at < now, 1), else_=0)),
            func.sum(case((HumanTask.stuck_at < now, 1), else_=0)),
        )
        .where(HumanTask.customer_id.in_(ids), HumanTask.state.in_(OPEN_TASK_STATES))
        .group_by(HumanTask.customer_id)
    ).all()
    for customer_id, open_count, overdue, stuck in counts:
        row = by_id[customer_id]
        row.open_tasks, row.overdue_tasks, row.stuck_tasks = int(open_count), int(overdue or 0), int(stuck or 0)
    for customer_id, score in previous_scores(session, ids, now).items():
        by_id[customer_id].previous_score = score
    for row in rows:
        row.trend = trend(row.customer.health_score, row.previous_score)


def previous_scores(session: Session, ids: Sequence[str], now: datetime) -> dict[str, float]:
    """Each customer's score about TREND_DAYS ago: the newest snapshot at or before then, else the oldest one."""
    cutoff = now - timedelta(days=TREND_DAYS)
    snap = HealthSnapshot.__table__.alias("snap")
    then = (
        select(snap.c.score)
        .where(snap.c.customer_id == Customer.id, snap.c.at <= cutoff)
        .order_by(snap.c.at.desc(), snap.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    first = (
        select(snap.c.score)
        .where(snap.c.customer_id == Customer.id)
        .order_by(snap.c.at.asc(), snap.c.id.asc())
        .limit(1)
        .scalar_subquery()
    )
    found = session.execute(
        select(Customer.id, func.coalesce(then, first)).where(
            and_(Customer.id.in_(ids), Customer.health_score.is_not(None))
        )
    ).all()
    return {customer_id: float(score) for customer_id, score in found if score is not None}


def trend(score: float | None, previous: float | None) -> str:
    if score is None or previous is None:
        return "none"
    if score - previous >= TREND_STEP:
        return "up"
    if previous - score >= TREND_STEP:
        return "down"
    return "flat"


def owners(session: Session) -> list[str]:
    """The CSM owners on file, for the owner filter."""
    found = session.execute(
        select(Customer.csm_owner).where(Customer.csm_owner.is_not(None)).distinct().order_by(Customer.csm_owner)
    )
    return [name for (name,) in found if name]
