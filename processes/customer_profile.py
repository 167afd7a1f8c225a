"""What the customer 360 page shows, read with a fixed number of small, indexed queries: health and its components,
MRR and health history, contacts, open tasks, support tickets with first response time and CSAT, survey answers,
product usage, the journey instance, and a timeline of events, process steps and audit entries."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, defer

from engine import OPEN_STATUSES, OPEN_TASK_STATES, AuditAction
from engine.models import AuditEvent, HumanTask, ProcessInstance
from processes.accounts import JOURNEY, contacts
from processes.customer_query import previous_scores, trend
from processes.customers import Contact, Customer, MrrMovement
from processes.events import ProductEvent
from processes.health import HealthSnapshot
from processes.rollups import CustomerDay
from processes.surveys import SurveyAnswer
from processes.tickets import SupportTicket

HISTORY = 200  # points on each chart
LISTED = 20  # rows in each table
TIMELINE = 60


@dataclass(frozen=True)
class Component:
    name: str
    value: float | None
    weight: float | None
    detail: str


@dataclass(frozen=True)
class Ticket:
    row: SupportTicket
    first_response_hours: float | None
    csat: int | None


@dataclass(frozen=True)
class Usage:
    events_30: int
    events_90: int
    active_days_30: int
    active_days_90: int
    last_event_at: datetime | None


@dataclass(frozen=True)
class Moment:
    """One line of the timeline."""

    at: datetime
    kind: str  # event | step | audit
    what: str  # event name, step name or audit action
    actor: str | None
    detail: dict[str, Any]
    instance_id: str | None = None


@dataclass
class Profile:
    customer: Customer
    components: list[Component] = field(default_factory=list)
    health_at: datetime | None = None
    trend: str = "none"
    previous_score: float | None = None
    mrr_history: list[MrrMovement] = field(default_factory=list)
    health_history: list[tuple[datetime, float]] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)
    open_tasks: list[HumanTask] = field(default_factory=list)
    tickets: list[Ticket] = field(default_factory=list)
    answers: list[SurveyAnswer] = field(default_factory=list)
    usage: Usage | None = None
    journey: ProcessInstance | None = None
    instances: list[ProcessInstance] = field(default_factory=list)
    timeline: list[Moment] = field(default_factory=list)


def health_components(raw: str) -> list[Component]:
    """The components of a health snapshot (its JSON text); nothing when the text is not a JSON object."""
    try:
        parsed = json.loads(raw)
    except ValueError:
        return []
    if not isinstance(parsed, dict):
        return []
    found = []
    for name, item in parsed.items():
        item = item if isinstance(item, dict) else {"value": item}
        value, weight = item.get("value"), item.get("weight")
        detail = item.get("detail", "")
        found.append(
            Component(
                str(name),
                float(value) if isinstance(value, int | float) else None,
                float(weight) if isinstance(weight, int | float) else None,
                detail if isinstance(detail, str) else json.dumps(detail, sort_keys=True, default=str),
            )
        )
    return found


def _usage(session: Session, customer_id: str, now: datetime) -> Usage:
    def window(days: int) -> tuple[int, int]:
        since: date = (now - timedelta(days=days)).date()
        events, active = session.execute(
            select(func.coalesce(func.sum(CustomerDay.events), 0), func.count()).where(
                CustomerDay.customer_id == customer_id, CustomerDay.day > since
            )
        ).one()
        return int(events), int(active)

    last = session.execute(
        select(func.max(ProductEvent.at)).where(ProductEvent.customer_id == customer_id)
    ).scalar_one_or_none()
    (e30, d30), (e90, d90) = window(30), window(90)
    return Usage(e30, e90, d30, d90, last)


def _tickets(session: Session, customer_id: str) -> list[Ticket]:
    rows = list(
        session.execute(
            select(SupportTicket)
            .where(SupportTicket.customer_id == customer_id)
            .order_by(SupportTicket.created_at.desc())
            .limit(LISTED)
        ).scalars()
    )
    ids = [row.instance_id for row in rows]
    csat: dict[str, int] = {}
    if ids:
        for instance_id, score in session.execute(
            select(SurveyAnswer.instance_id, SurveyAnswer.score)
            .where(SurveyAnswer.instance_id.in_(ids), SurveyAnswer.kind == "csat")
            .order_by(SurveyAnswer.at)
        ):
            if instance_id is not None:
                csat[instance_id] = score
    tickets = []
    for row in rows:
        hours = None
        if row.first_response_at is not None:
            hours = (row.first_response_at - row.created_at).total_seconds() / 3600
        tickets.append(Ticket(row, hours, csat.get(row.instance_id)))
    return tickets


def _timeline(session: Session, customer_id: str) -> list[Moment]:
    moments = [
        Moment(e.at, "event", e.name, None, _json(e.properties))
        for e in session.execute(
            select(ProductEvent)
            .where(ProductEvent.customer_id == customer_id)
            .order_by(ProductEvent.at.desc())
            .limit(TIMELINE // 3)
        ).scalars()
    ]
    moments += [
        Moment(t.completed_at, "step", t.name, t.completed_by, {"process": t.process_id}, t.instance_id)
        for t in session.execute(
            select(HumanTask)
            .where(HumanTask.customer_id == customer_id, HumanTask.completed_at.is_not(None))
            .order_by(HumanTask.completed_at.desc())
            .limit(TIMELINE // 3)
        ).scalars()
        if t.completed_at is not None
    ]
    moments += [
        Moment(a.at, "audit", a.action, a.actor, _json(a.payload), a.instance_id)
        for a in session.execute(
            select(AuditEvent)
            .where(AuditEvent.customer_id == customer_id, AuditEvent.action != AuditAction.TASK_COMPLETED)
            .order_by(AuditEvent.seq.desc())
            .limit(TIMELINE)
        ).scalars()
    ]
    moments.sort(key=lambda m: m.at, reverse=True)
    return moments[:TIMELINE]


def _json(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {"value": value}


def profile(session: Session, customer_id: str, now: datetime) -> Profile | None:
    customer = session.get(Customer, customer_id)
    if customer is None:
        return None
    found = Profile(customer)
    snapshots = list(
        session.execute(
            select(HealthSnapshot)
            .where(HealthSnapshot.customer_id == customer_id)
            .order_by(HealthSnapshot.at.desc(), HealthSnapshot.id.desc())
            .limit(HISTORY)
        ).scalars()
    )
    if snapshots:
        found.components = health_components(snapshots[0].components)
        found.health_at = snapshots[0].at
    found.health_history = [(s.at, s.score) for s in reversed(snapshots)]
    found.previous_score = previous_scores(session, [customer_id], now).get(customer_id)
    found.trend = trend(customer.health_score, found.previous_score)
    found.mrr_history = list(
        reversed(
            session.execute(
                select(MrrMovement)
                .where(MrrMovement.customer_id == customer_id)
                .order_by(MrrMovement.at.desc(), MrrMovement.id.desc())
                .limit(HISTORY)
            )
            .scalars()
            .all()
        )
    )
    found.contacts = contacts(session, customer_id)
    found.open_tasks = list(
        session.execute(
            select(HumanTask)
            .where(HumanTask.customer_id == customer_id, HumanTask.state.in_(OPEN_TASK_STATES))
            .order_by(HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.id)
        ).scalars()
    )
    found.tickets = _tickets(session, customer_id)
    found.answers = list(
        session.execute(
            select(SurveyAnswer)
            .where(SurveyAnswer.customer_id == customer_id)
            .order_by(SurveyAnswer.at.desc())
            .limit(LISTED)
        ).scalars()
    )
    found.usage = _usage(session, customer_id, now)
    found.instances = list(
        session.execute(
            select(ProcessInstance)
            .options(defer(ProcessInstance.state_json))
            .where(ProcessInstance.customer_id == customer_id)
            .order_by(ProcessInstance.started_at.desc())
            .limit(LISTED)
        ).scalars()
    )
    found.journey = session.execute(
        select(ProcessInstance)
        .options(defer(ProcessInstance.state_json))
        .where(ProcessInstance.customer_id == customer_id, ProcessInstance.process_id == JOURNEY)
        .order_by(ProcessInstance.status.in_(OPEN_STATUSES).desc(), ProcessInstance.started_at.desc())
        .limit(1)
    ).scalar_one_or_none()
    found.timeline = _timeline(session, customer_id)
    return found
