"""Playbooks: processes started for a customer by a rule, at most one open per customer and process, and not again
within a cooldown.

A rule fires on a product event nobody waited for (``on_event``), on a threshold the scheduler checks
(``when = "no_usage_days" | "renewal_within_days"``), on a survey answer (``when = "detractor" | "promoter"``), or
a health band (``request_playbook`` called by the health score). Firing writes a *pending* ``PlaybookRun``
(``instance_id`` NULL) and a ``playbook_requested`` audit event in the caller's transaction; ``start_pending``
starts the pending runs after that transaction committed (the events API right after its commit, the scheduler on
every pass). ``PlaybookRun.instance_id`` is NULL (pending), ``claim:…`` (being started), ``failed`` (the start was
refused: see its ``playbook_failed`` audit event) or the started instance's id. The rule format is in
docs/playbooks.md."""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Literal, Protocol

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from engine import OPEN_STATUSES, AuditAction, EngineError, append_audit
from engine.models import AuditEvent, ProcessInstance
from processes.customers import Customer
from processes.events import PlaybookRun
from processes.playbook_rules import Rule, rules
from processes.rollups import CustomerDay

if TYPE_CHECKING:
    from engine import Runtime

ACTOR = "playbooks"
FAILED = "failed"
CLAIM = "claim:"
MESSAGE_RULE = "message:"  # the rule name of a run started by a BPMN message start event
ENDED_STAGES = ("prospect", "offboarding", "churned")  # no renewal playbook for these

Blocked = dict[tuple[str | None, str], datetime | Literal["open"]]
"""Per (customer, process): "open" while an instance or an unstarted run is open, else the latest run's start."""


class EventLike(Protocol):
    """What the rules read of an event: a ProductEvent row, or an event about to be stored."""

    @property
    def customer_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def properties(self) -> Any: ...  # a mapping, or its JSON text


@dataclass(frozen=True)
class _Request:
    customer_id: str
    process_id: str
    rule: str
    trigger: str
    cooldown_days: int
    data: Mapping[str, Any]


def _cooldown(rule: Rule | None, config: Mapping[str, Any]) -> int:
    if rule is not None and rule.cooldown_days is not None:
        return rule.cooldown_days
    return int(config["playbooks"]["cooldown_days"])


def _blocked(session: Session, pairs: set[tuple[str, str]], now: datetime, longest: int) -> Blocked:
    """For the (customer, process) pairs: the open instances (value "open") and the latest run's start (a
    datetime; pending and claimed runs count as started now), in two queries whatever the number of pairs."""
    if not pairs:
        return {}
    customers = {c for c, _ in pairs}
    processes = {p for _, p in pairs}
    found: Blocked = {}
    open_rows = session.execute(
        select(ProcessInstance.customer_id, ProcessInstance.process_id)
        .where(ProcessInstance.customer_id.in_(customers), ProcessInstance.process_id.in_(processes))
        .where(ProcessInstance.status.in_(OPEN_STATUSES))
        .distinct()
    ).all()
    for customer_id, process_id in open_rows:
        found[(customer_id, process_id)] = "open"
    unstarted = or_(PlaybookRun.instance_id.is_(None), PlaybookRun.instance_id.startswith(CLAIM))
    runs = session.execute(
        select(PlaybookRun.customer_id, PlaybookRun.process_id, PlaybookRun.instance_id, PlaybookRun.started_at)
        .where(PlaybookRun.customer_id.in_(customers), PlaybookRun.process_id.in_(processes))
        .where(or_(PlaybookRun.started_at >= now - timedelta(days=longest), unstarted))
    ).all()
    for customer_id, process_id, instance_id, started_at in runs:
        key = (customer_id, process_id)
        last = found.get(key)
        if last == "open":
            continue
        if instance_id is None or instance_id.startswith(CLAIM):
            found[key] = "open"
        elif not isinstance(last, datetime) or started_at > last:
            found[key] = started_at
    return found


def _allowed(blocked: Blocked, request: _Request, now: datetime) -> bool:
    state = blocked.get((request.customer_id, request.process_id))
    if isinstance(state, datetime):  # the latest run's start: allowed again once the cooldown has passed
        return state <= now - timedelta(days=request.cooldown_days)
    return state is None  # "open": an open instance or a run not started yet blocks a second one


def _record(session: Session, request: _Request, now: datetime) -> PlaybookRun:
    run = PlaybookRun(
        customer_id=request.customer_id,
        process_id=request.process_id,
        rule=request.rule,
        trigger=request.trigger,
        instance_id=None,
        started_at=now,
    )
    session.add(run)
    session.flush()
    payload = {"run_id": run.id, "rule": request.rule, "trigger": request.trigger, "data": dict(request.data)}
    append_audit(
        session,
        at=now,
        actor=ACTOR,
        action=AuditAction.PLAYBOOK_REQUESTED,
        customer_id=request.customer_id,
        process_id=request.process_id,
        payload=payload,
    )
    return run


def _request_all(session: Session, requests: Sequence[_Request], now: datetime) -> list[PlaybookRun]:
    """Record each request that the open-instance guard and the cooldown allow (later requests of the same
    customer and process in the batch see the earlier ones)."""
    if not requests:
        return []
    pairs = {(r.customer_id, r.process_id) for r in requests}
    blocked = _blocked(session, pairs, now, max(r.cooldown_days for r in requests))
    made = []
    for request in requests:
        if _allowed(blocked, request, now):
            made.append(_record(session, request, now))
            blocked[(request.customer_id, request.process_id)] = "open"
    return made


def request_playbook(
    session: Session,
    *,
    customer_id: str,
    process_id: str,
    rule: str,
    trigger: str,
    now: datetime,
    config: Mapping[str, Any],
    data: Mapping[str, Any] | None = None,
) -> PlaybookRun | None:
    """Inside the caller's transaction: a pending run of ``process_id`` for the customer, unless one is open (or
    pending) or one started within ``playbooks.cooldown_days``; None then, and nothing is written. ``data`` is
    added to the started instance's data. Call ``start_pending`` after the transaction committed."""
    request = _Request(customer_id, process_id, rule, trigger, _cooldown(None, config), data or {})
    made = _request_all(session, [request], now)
    return made[0] if made else None


def _properties(event: EventLike) -> dict[str, Any]:
    value = event.properties
    if isinstance(value, str):
        loaded = json.loads(value or "{}")
        return loaded if isinstance(loaded, dict) else {}
    return dict(value or {})


def on_events(
    session: Session, runtime: Runtime | None, events: Iterable[EventLike], now: datetime, config: Mapping[str, Any]
) -> list[PlaybookRun]:
    """Apply the event rules (``on_event``) to ``events``; with ``runtime``, a process whose BPMN message start
    event names the event counts as a rule too (started with the message by ``start_pending``). The events API
    passes only the events no waiting instance received. Returns the pending runs made."""
    by_event: dict[str, list[Rule]] = {}
    for rule in rules(config):
        if rule.on_event:
            by_event.setdefault(rule.on_event, []).append(rule)
    starts: dict[str, list[str]] = {}
    requests = []
    for event in events:
        matching = by_event.get(event.name, [])
        if runtime is not None and event.name not in starts:
            starts[event.name] = runtime.message_starts.processes(session, event.name)
        if not matching and not starts.get(event.name):
            continue
        data = {**_properties(event), "event": event.name}
        trigger = f"event {event.name}"
        for rule in matching:
            requests.append(
                _Request(event.customer_id, rule.process, rule.name, trigger, _cooldown(rule, config), data)
            )
        for process_id in starts.get(event.name, []):
            name = MESSAGE_RULE + event.name
            requests.append(_Request(event.customer_id, process_id, name, trigger, _cooldown(None, config), data))
    return _request_all(session, requests, now)


def on_survey_answer(
    session: Session, *, customer_id: str, kind: str, score: int, now: datetime, config: Mapping[str, Any]
) -> list[PlaybookRun]:
    """Apply the survey rules to one answer: ``detractor`` fires on NPS 0-6, ``promoter`` on NPS 9-10; the
    started instance gets ``nps`` (the score) in its data."""
    if kind != "nps":
        return []
    band = "detractor" if score <= 6 else "promoter" if score >= 9 else None
    trigger = f"NPS answer {score}"
    requests = [
        _Request(customer_id, rule.process, rule.name, trigger, _cooldown(rule, config), {"nps": score})
        for rule in rules(config)
        if band is not None and rule.when == band
    ]
    return _request_all(session, requests, now)


def _threshold_candidates(session: Session, rule: Rule, now: datetime) -> list[tuple[str, str]]:
    """(customer id, trigger) of the customers past the rule's threshold now."""
    today = now.date()
    days = int(rule.days or 0)
    live = and_(Customer.archived_at.is_(None), Customer.purged_at.is_(None))
    if rule.when == "no_usage_days":
        cutoff = today - timedelta(days=days)
        last = (
            select(func.max(CustomerDay.day))
            .where(CustomerDay.customer_id == Customer.id)
            .correlate(Customer)
            .scalar_subquery()
        )
        never_since = or_(  # no event at all: counted from the contract start (or the record's creation)
            Customer.contract_start < cutoff,
            and_(Customer.contract_start.is_(None), Customer.created_at < datetime.combine(cutoff, time(), UTC)),
        )
        idle = session.execute(
            select(Customer.id, last).where(
                live, Customer.stage == "active", or_(last < cutoff, and_(last.is_(None), never_since))
            )
        ).all()
        return [(cid, f"no product event for {days} days (last: {day or 'none'})") for cid, day in idle]
    if rule.when == "renewal_within_days":
        rows = session.execute(
            select(Customer.id, Customer.renewal_date).where(
                live,
                Customer.stage.not_in(ENDED_STAGES),
                Customer.renewal_date >= today,
                Customer.renewal_date <= today + timedelta(days=days),
            )
        ).all()
        return [(cid, f"renewal on {day} (within {days} days)") for cid, day in rows]
    return []


def check_thresholds(session: Session, now: datetime, config: Mapping[str, Any]) -> list[PlaybookRun]:
    """Apply the threshold rules (run by the scheduler): ``no_usage_days`` fires for active customers whose last
    product event is older than ``days`` (or who had none since their contract start), ``renewal_within_days``
    for customers whose renewal date is within the next ``days``. Returns the pending runs made."""
    requests = []
    for rule in rules(config):
        if rule.when not in ("no_usage_days", "renewal_within_days"):
            continue
        for customer_id, trigger in _threshold_candidates(session, rule, now):
            requests.append(_Request(customer_id, rule.process, rule.name, trigger, _cooldown(rule, config), {}))
    return _request_all(session, requests, now)


def _requested_data(session: Session, run: PlaybookRun) -> dict[str, Any]:
    """The data recorded with the run's request (empty if its audit payload was redacted)."""
    payloads = session.execute(
        select(AuditEvent.payload)
        .where(AuditEvent.action == AuditAction.PLAYBOOK_REQUESTED, AuditEvent.customer_id == run.customer_id)
        .where(AuditEvent.process_id == run.process_id)
        .order_by(AuditEvent.seq.desc())
        .limit(20)
    ).scalars()
    for text in payloads:
        payload = json.loads(text)
        if isinstance(payload, dict) and payload.get("run_id") == run.id:
            data = payload.get("data")
            return dict(data) if isinstance(data, dict) else {}
    return {}


def _claim(runtime: Runtime, run_id: int) -> tuple[PlaybookRun, dict[str, Any], str] | None:
    token = CLAIM + uuid.uuid4().hex[:24]
    with runtime.unit() as u:
        claimed = u.session.execute(
            update(PlaybookRun)
            .where(PlaybookRun.id == run_id, PlaybookRun.instance_id.is_(None))
            .values(instance_id=token)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return None  # another scheduler took it
        run = u.session.get(PlaybookRun, run_id)
        assert run is not None
        return run, _requested_data(u.session, run), token


def _start(runtime: Runtime, run: PlaybookRun, data: dict[str, Any]) -> str:
    base = {"playbook_rule": run.rule, "trigger": run.trigger}
    if run.rule.startswith(MESSAGE_RULE):  # a message start event: start it by delivering the message
        name = run.rule.removeprefix(MESSAGE_RULE)
        payload = {k: v for k, v in data.items() if k != "event"}
        with runtime.unit() as u:
            started = runtime.deliver(u, name, payload, actor=ACTOR, customer_id=run.customer_id, start=True)
        if not started:
            raise EngineError(f"no process started with message {name!r}")
        return started[0]
    return runtime.start(run.process_id, actor=ACTOR, customer_id=run.customer_id, data={**data, **base})


def start_pending(runtime: Runtime, *, run_ids: Collection[int] | None = None, limit: int = 200) -> list[str]:
    """Start the pending runs (after the transaction that requested them committed), or only those of ``run_ids``;
    returns the started instance ids. Each run is claimed with a conditional UPDATE, so two schedulers never start
    it twice. A refused start (an undeployed process, a start guard) is audited as ``playbook_failed`` and the run
    is marked failed, not retried."""
    with runtime.unit() as u:
        query = select(PlaybookRun.id).where(PlaybookRun.instance_id.is_(None))
        if run_ids is not None:
            query = query.where(PlaybookRun.id.in_(set(run_ids)))
        pending = list(u.session.execute(query.order_by(PlaybookRun.id).limit(limit)).scalars())
    started = []
    for run_id in pending:
        claimed = _claim(runtime, run_id)
        if claimed is None:
            continue
        run, data, token = claimed
        try:
            instance_id = _start(runtime, run, data)
        except EngineError as exc:
            with runtime.unit() as u:
                u.session.execute(
                    update(PlaybookRun)
                    .where(PlaybookRun.id == run_id, PlaybookRun.instance_id == token)
                    .values(instance_id=FAILED)
                    .execution_options(synchronize_session=False)
                )
                append_audit(
                    u.session,
                    at=u.now,
                    actor=ACTOR,
                    action=AuditAction.PLAYBOOK_FAILED,
                    customer_id=run.customer_id,
                    process_id=run.process_id,
                    payload={"run_id": run_id, "rule": run.rule, "reason": str(exc)},
                )
            continue
        with runtime.unit() as u:
            u.session.execute(
                update(PlaybookRun)
                .where(PlaybookRun.id == run_id, PlaybookRun.instance_id == token)
                .values(instance_id=instance_id)
                .execution_options(synchronize_session=False)
            )
        started.append(instance_id)
    return started


def scheduler_job(runtime: Runtime) -> str:
    """The scheduler's periodic job: the threshold rules, then every pending run."""
    with runtime.unit() as u:
        requested = check_thresholds(u.session, u.now, runtime.config)
    started = start_pending(runtime)
    return f"{len(requested)} playbooks requested by thresholds, {len(started)} started"
