"""The second pass of an import: the validated rows written inside the one transaction. Customers and MRR
movements go through the domain functions (``create_customer``, ``record_mrr``); survey answers and product events,
which may come by the million, are inserted in batches with their rollup increments summed in Python per
(customer, day) and per (day, segment, owner) and upserted once per batch: the same rows and counts that
``record_answer`` and ``record_event`` write one at a time."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import insert, select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from engine import AuditAction, append_audit
from engine.models import Base, core
from processes import surveys
from processes.customers import Customer, MrrMovement, create_customer, record_mrr
from processes.events import ProductEvent
from processes.imports.rows import CustomerRow, EventRow, MrrRow, SurveyRow
from processes.rollups import CsDaily, CustomerDay

BATCH = 10_000
KEYS_PER_QUERY = 1000  # (customer, day) pairs per lookup: 2000 parameters
FIELDS = ("name", "email", "segment", "plan", "csm_owner", "contract_start", "renewal_date", "stage")


@dataclass
class Written:
    """What the write pass did, for the report and the audit event."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0  # MRR movements already recorded
    movements: Counter[str] = field(default_factory=Counter)
    kept_mrr: list[str] = field(default_factory=list)  # existing customers whose differing mrr column was ignored
    touched: set[str] = field(default_factory=set)  # customers whose health inputs changed (answers, events, MRR)


# -- customers --------------------------------------------------------------------------------------------------
def _fields(row: CustomerRow) -> dict[str, Any]:
    return {name: (getattr(row, name) or "standard") if name == "plan" else getattr(row, name) for name in FIELDS}


def _plain(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in values.items()}


def write_customers(session: Session, rows: Sequence[CustomerRow], *, actor: str, now: datetime) -> Written:
    """Create the new customers (the ``mrr`` column is the first movement, at contract start) and update the
    existing ones, each audited with its values (before and after for an update). An existing customer's MRR
    changes only through movements: its ``mrr`` column is used only while it has none (else see ``kept_mrr``)."""
    done = Written(rows=len(rows))
    ignored_mrr = []
    for row in rows:
        values = _fields(row)
        customer = session.get(Customer, row.id)
        if customer is None:
            create_customer(session, row.id, now=now, mrr=row.mrr, **values)
            after = _plain({**values, "mrr": row.mrr})
            append_audit(
                session,
                at=now,
                actor=actor,
                action=AuditAction.CUSTOMER_CREATED,
                payload={"after": after, "source": "import"},
                customer_id=row.id,
            )
            done.created += 1
            continue
        before = {name: getattr(customer, name) for name in FIELDS if getattr(customer, name) != values[name]}
        after = {name: values[name] for name in before}
        has_movements = session.execute(
            select(MrrMovement.id).where(MrrMovement.customer_id == row.id).limit(1)
        ).first()
        if row.mrr and has_movements is None:
            start = row.contract_start or customer.contract_start
            at = datetime.combine(start, time(), tzinfo=now.tzinfo) if start else now
            before["mrr"], after["mrr"] = customer.mrr, row.mrr
            record_mrr(session, customer, at, row.mrr)
        elif row.mrr != customer.mrr and row.mrr:
            ignored_mrr.append(row.id)
        if not after:
            done.unchanged += 1
            continue
        for name in FIELDS:
            if name in after:
                setattr(customer, name, after[name])
        customer.updated_at = now
        payload = {"before": _plain(before), "after": _plain(after), "source": "import"}
        append_audit(
            session, at=now, actor=actor, action=AuditAction.CUSTOMER_UPDATED, payload=payload, customer_id=row.id
        )
        done.updated += 1
    done.kept_mrr = ignored_mrr
    session.flush()
    return done


# -- MRR movements ----------------------------------------------------------------------------------------------
def write_mrr(session: Session, rows: Sequence[MrrRow]) -> Written:
    """Record the movements in (customer, time) order through ``record_mrr``, so each is classified from the value
    before it; a movement already recorded (same customer, time and value) is skipped, so a file can be imported
    again."""
    done = Written(rows=len(rows))
    ids = sorted({row.customer_id for row in rows})
    done.touched.update(ids)
    recorded: set[tuple[str, datetime, float]] = set()
    for chunk in _chunks(ids, KEYS_PER_QUERY):
        found = session.execute(
            select(MrrMovement.customer_id, MrrMovement.at, MrrMovement.new_mrr).where(
                MrrMovement.customer_id.in_(chunk)
            )
        )
        recorded.update((c, at, value) for c, at, value in found)
    for row in sorted(rows, key=lambda r: (r.customer_id, r.at)):
        if (row.customer_id, row.at, row.new_mrr) in recorded:
            done.skipped += 1
            continue
        customer = session.get(Customer, row.customer_id)
        if customer is None:
            raise LookupError(f"customer {row.customer_id!r} no longer exists")
        done.movements[record_mrr(session, customer, row.at, row.new_mrr).kind] += 1
    return done


# -- survey answers and product events, in batches ------------------------------------------------------------------
Buckets = Mapping[str, tuple[str, str]]  # customer id -> (segment, csm owner) as the rollups key them


def buckets(session: Session) -> dict[str, tuple[str, str]]:
    rows = session.execute(
        select(Customer.id, Customer.segment, Customer.csm_owner).where(Customer.purged_at.is_(None))
    )
    return {cid: (segment or "", owner or "") for cid, segment, owner in rows}


def write_answers(
    session: Session, rows: Iterable[SurveyRow], config: Mapping[str, Any], customers: Buckets
) -> Written:
    done = Written()
    table = core(surveys.SurveyAnswer)
    for batch in _chunks(rows, BATCH):
        daily: dict[tuple[date, str, str], Counter[str]] = {}
        values = []
        for row in batch:
            low, high = surveys.scale(row.kind, config)
            segment, owner = _customer(customers, row.customer_id)
            values.append(
                {
                    "customer_id": row.customer_id,
                    "contact_id": None,
                    "kind": row.kind,
                    "score": row.score,
                    "scale_min": low,
                    "scale_max": high,
                    "at": row.at,
                    "comment": row.comment,
                    "source": "import",
                    "instance_id": None,
                    "element_id": None,
                    "link_id": None,
                }
            )
            done.touched.add(row.customer_id)
            counts = daily.setdefault((row.at.date(), segment, owner), Counter())
            if row.kind == "nps":
                counts.update(nps_n=1, nps_promoters=int(row.score >= 9), nps_detractors=int(row.score <= 6))
            elif row.kind == "csat":
                counts.update(csat_n=1, csat_satisfied=int(row.score >= 4))
            else:
                counts.update(ces_n=1, ces_sum=row.score)
        session.execute(insert(table), values)
        _upsert_daily(session, daily)
        done.rows += len(values)
    return done


def write_events(session: Session, rows: Iterable[EventRow], customers: Buckets, *, now: datetime) -> Written:
    done = Written()
    table = core(ProductEvent)
    for batch in _chunks(rows, BATCH):
        per_day: Counter[tuple[str, date]] = Counter()
        values = []
        for row in batch:
            _customer(customers, row.customer_id)
            values.append(
                {
                    "customer_id": row.customer_id,
                    "name": row.name,
                    "at": row.at,
                    "properties": json.dumps(dict(row.properties), sort_keys=True, default=str),
                    "source": "import",
                    "received_at": now,
                }
            )
            per_day[(row.customer_id, row.at.date())] += 1
            done.touched.add(row.customer_id)
        session.execute(insert(table), values)
        _count_days(session, per_day, customers)
        done.rows += len(values)
    return done


def _count_days(session: Session, per_day: Counter[tuple[str, date]], customers: Buckets) -> None:
    """Add the batch's events to each customer's day (a new day is an active day) and to the day's totals of the
    customer's segment and owner."""
    keys = list(per_day)
    existing: set[tuple[str, date]] = set()
    for chunk in _chunks(keys, KEYS_PER_QUERY):
        pair = tuple_(CustomerDay.customer_id, CustomerDay.day)
        found = session.execute(select(CustomerDay.customer_id, CustomerDay.day).where(pair.in_(chunk)))
        existing.update((customer_id, day) for customer_id, day in found)
    _upsert_many(
        session,
        CustomerDay,
        ("customer_id", "day"),
        [{"customer_id": c, "day": d, "events": n} for (c, d), n in per_day.items()],
    )
    daily: dict[tuple[date, str, str], Counter[str]] = {}
    for (customer_id, day), n in per_day.items():
        segment, owner = customers[customer_id]
        daily.setdefault((day, segment, owner), Counter()).update(
            events=n, active_days=int((customer_id, day) not in existing)
        )
    _upsert_daily(session, daily)


COUNTERS = (
    "nps_n",
    "nps_promoters",
    "nps_detractors",
    "csat_n",
    "csat_satisfied",
    "ces_n",
    "ces_sum",
    "events",
    "active_days",
)


def _upsert_daily(session: Session, daily: Mapping[tuple[date, str, str], Counter[str]]) -> None:
    rows = [
        {"day": day, "segment": segment, "csm_owner": owner, **{name: counts.get(name, 0) for name in COUNTERS}}
        for (day, segment, owner), counts in daily.items()
    ]
    _upsert_many(session, CsDaily, ("day", "segment", "csm_owner"), rows)


def _upsert_many(session: Session, model: type[Base], keys: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
    """Add each row's counters to the row of its keys (created with them if missing): one statement, many rows."""
    if not rows:
        return
    table = core(model)
    statement = (pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert)(table)
    counters = [name for name in rows[0] if name not in keys]
    statement = statement.on_conflict_do_update(
        index_elements=list(keys), set_={name: table.c[name] + statement.excluded[name] for name in counters}
    )
    session.execute(statement, rows)


def _customer(customers: Buckets, customer_id: str) -> tuple[str, str]:
    found = customers.get(customer_id)
    if found is None:
        raise LookupError(f"customer {customer_id!r} no longer exists")
    return found


def _chunks(items: Iterable[Any], size: int) -> Iterable[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
