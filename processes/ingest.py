"""Ingesting product events in bulk (the events API, imports): one transaction per batch, a few statements per
batch rather than per event.

A batch costs: one bulk INSERT of the events, the rollups aggregated per (customer, day) and per (day, segment,
owner) (one SELECT, at most one INSERT, one UPDATE and one upsert, each an executemany), one query for the batch's
customers' waiting instances, and a workflow load only for an event that an instance of its customer really waits
for. An event no instance received goes to the playbook rules (``processes.playbooks.on_events``); their pending
runs are started by ``playbooks.start_pending`` after the caller's transaction commits."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import bindparam, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from engine import AuditAction, InstanceStatus, Prepared, append_audit
from engine.models import ProcessInstance, core
from processes import health, playbooks
from processes.customers import Customer
from processes.events import PlaybookRun, ProductEvent
from processes.rollups import CsDaily, CustomerDay

if TYPE_CHECKING:
    from engine import Runtime, Unit


@dataclass(frozen=True)
class Incoming:
    """One checked event, not stored yet."""

    customer_id: str
    name: str
    at: datetime
    properties: Mapping[str, Any]


@dataclass
class Ingested:
    stored: int = 0
    delivered: list[tuple[int, list[str]]] = field(default_factory=list)  # (index in the batch, instance ids)
    requested: list[PlaybookRun] = field(default_factory=list)  # pending runs, started after commit


class Known(NamedTuple):
    """What a batch needs of a customer: its rollup bucket and whether it was purged (read without the ORM: loading
    full Customer objects was a quarter of an events batch's time)."""

    id: str
    segment: str
    csm_owner: str | None
    purged_at: datetime | None


# The batch's statements, built once (engine._dml runs them on SQLite's own cursor).
INSERT_EVENTS = Prepared(core(ProductEvent).insert())
_DAYS = core(CustomerDay)
INSERT_DAYS = Prepared(_DAYS.insert())
ADD_TO_DAYS = Prepared(
    _DAYS.update()
    .where(_DAYS.c.customer_id == bindparam("b_c"), _DAYS.c.day == bindparam("b_d"))
    .values(events=_DAYS.c.events + bindparam("b_n"))
)


def _add_to_daily(insert: Any) -> Prepared:
    daily = core(CsDaily)
    return Prepared(
        insert(daily).on_conflict_do_update(
            index_elements=["day", "segment", "csm_owner"],
            set_={
                "events": daily.c.events + insert(daily).excluded.events,
                "active_days": daily.c.active_days + insert(daily).excluded.active_days,
            },
        )
    )


ADD_TO_DAILY = {False: _add_to_daily(sqlite_insert), True: _add_to_daily(pg_insert)}  # by "is PostgreSQL"
KNOWN = select(Customer.id, Customer.segment, Customer.csm_owner, Customer.purged_at)


def known_customers(session: Session, ids: Collection[str]) -> dict[str, Known]:
    """The customers of ``ids`` that exist, in one query."""
    if not ids:
        return {}
    rows = session.execute(KNOWN.where(Customer.id.in_(set(ids))))
    return {row.id: Known(*row) for row in rows}


def _day(at: datetime) -> date:
    return at.astimezone(UTC).date()


def count_batch(session: Session, events: Sequence[Incoming], customers: Mapping[str, Known]) -> None:
    """The rollups of ``processes.rollups`` for a whole batch: each (customer, day) counted once with its number of
    events, each (day, segment, owner) once. A concurrent batch that creates the same customer-day first makes
    this one fail with a conflict (retry it), as ``rollups.count_events`` does."""
    per_day = Counter((e.customer_id, _day(e.at)) for e in events)
    existing = {
        (customer_id, day)
        for customer_id, day in session.execute(
            select(CustomerDay.customer_id, CustomerDay.day).where(
                CustomerDay.customer_id.in_({c for c, _ in per_day}), CustomerDay.day.in_({d for _, d in per_day})
            )
        )
    }
    conn = session.connection()
    fresh = [{"customer_id": c, "day": d, "events": n} for (c, d), n in per_day.items() if (c, d) not in existing]
    more = [{"b_c": c, "b_d": d, "b_n": n} for (c, d), n in per_day.items() if (c, d) in existing]
    INSERT_DAYS.run_many(conn, fresh)
    ADD_TO_DAYS.run_many(conn, more)
    buckets: dict[tuple[date, str, str], list[int]] = {}
    for (customer_id, day), n in per_day.items():
        customer = customers[customer_id]
        bucket = buckets.setdefault((day, customer.segment or "", customer.csm_owner or ""), [0, 0])
        bucket[0] += n
        bucket[1] += int((customer_id, day) not in existing)
    rows = [
        {"day": d, "segment": s, "csm_owner": o, "events": n, "active_days": a}
        for (d, s, o), (n, a) in sorted(buckets.items())
    ]
    ADD_TO_DAILY[conn.dialect.name == "postgresql"].run_many(conn, rows)


def _waiting(session: Session, customer_ids: Collection[str]) -> dict[str, list[str | None]]:
    """Per customer, the waiting-message lists of its running or waiting instances (None: not recorded yet).

    The status is checked here rather than in SQL: given both, SQLite (no statistics) walks the status index over
    every waiting instance of every customer; by customer it reads a few rows each."""
    found: dict[str, list[str | None]] = {}
    rows = session.execute(
        select(ProcessInstance.customer_id, ProcessInstance.status, ProcessInstance.waiting_messages).where(
            ProcessInstance.customer_id.in_(set(customer_ids))
        )
    ).all()
    for customer_id, status, waiting in rows:
        if status in (InstanceStatus.RUNNING, InstanceStatus.WAITING):
            found.setdefault(str(customer_id), []).append(waiting)
    return found


def ingest(
    runtime: Runtime,
    u: Unit,
    events: Sequence[Incoming],
    customers: Mapping[str, Known],
    *,
    actor: str,
    source: str = "api",
) -> Ingested:
    """Inside the caller's unit: store ``events`` (their customers in ``customers``), count them in the rollups,
    deliver each to the customer's instances waiting for a message of its name, and apply the playbook rules to
    those nobody received. Call ``playbooks.start_pending(runtime)`` after the unit commits."""
    result = Ingested(stored=len(events))
    if not events:
        return result
    session = u.session
    rows = [
        {
            "customer_id": e.customer_id,
            "name": e.name,
            "at": e.at,
            "properties": json.dumps(dict(e.properties), sort_keys=True, default=str),
            "source": source,
            "received_at": u.now,
        }
        for e in events
    ]
    INSERT_EVENTS.run_many(u.conn, rows)  # on SQLite, straight on its cursor (engine._dml)
    count_batch(session, events, customers)
    whose = sorted({e.customer_id for e in events})
    append_audit(
        session,
        at=u.now,
        actor=actor,
        action=AuditAction.EVENTS_RECEIVED,
        customer_id=whose[0] if len(whose) == 1 else None,
        payload={
            "count": len(events),
            "source": source,
            "names": dict(Counter(e.name for e in events)),
            "customers": whose,
        },
    )
    waiting = _waiting(session, {e.customer_id for e in events})
    unclaimed = []
    for index, event in enumerate(events):
        lists = waiting.get(event.customer_id, [])
        if any(w is None or f",{event.name}," in w for w in lists):
            ids = runtime.deliver(u, event.name, event.properties, actor=actor, customer_id=event.customer_id)
            if ids:
                result.delivered.append((index, ids))
                waiting[event.customer_id] = [None]  # the instances changed: ask the engine for the next ones
                continue
        unclaimed.append(event)
    result.requested = playbooks.on_events(session, runtime, unclaimed, u.now, runtime.config)
    # usage is an input of the health score: the batch's customers are queued for the scheduler's next health pass
    health.mark_pending(session, {e.customer_id for e in events}, u.now, "product events")
    return result
