"""The audit trail: an append-only, hash-chained table.

Each row's ``hash`` covers the previous row's hash, the row's own fields and ``payload_hash`` (sha256 of the
canonical payload JSON). Appends lock the single ``audit_head`` row, so concurrent transactions queue and the
chain never forks: an append moves the head with one UPDATE conditioned on the head this connection last wrote
(seq and hash), and reads it under the lock first only when someone else moved it since. Redaction (a GDPR
deletion) replaces a payload with a tombstone but keeps ``payload_hash``; the redaction is itself an audit event
naming the rows it redacted, so verify still passes afterwards and a payload swapped for a fake tombstone does not.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, bindparam, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from engine.dml import Prepared
from engine.models import AuditEvent, AuditHead, core

GENESIS = "0" * 64
REDACTED_ACTION = "audit_redacted"


def canonical(payload: Any) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def row_hash(event: AuditEvent | Appended) -> str:
    return _digest(
        event.prev_hash,
        event.seq,
        event.at,
        event.actor,
        event.action,
        event.process_id,
        event.instance_id,
        event.task_id,
        event.customer_id,
        event.payload_hash,
    )


def _digest(
    prev_hash: str,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    process_id: str | None,
    instance_id: str | None,
    task_id: str | None,
    customer_id: str | None,
    payload_hash: str,
) -> str:
    fields = [
        prev_hash,
        str(seq),
        at.isoformat(),
        actor,
        action,
        process_id or "",
        instance_id or "",
        task_id or "",
        customer_id or "",
        payload_hash,
    ]
    return sha256("\x1f".join(fields))


def ensure_head(session: Session | Connection) -> None:
    conn = session if isinstance(session, Connection) else session.connection()
    if conn.execute(select(_HEAD.c.id).where(_HEAD.c.id == 1)).first() is None:
        conn.execute(_HEAD.insert(), {"id": 1, "last_seq": 0, "last_hash": GENESIS})


@dataclass(frozen=True, slots=True)
class Appended:
    """An event as ``append`` wrote it: the row's values."""

    seq: int
    at: datetime
    actor: str
    action: str
    process_id: str | None
    instance_id: str | None
    task_id: str | None
    customer_id: str | None
    payload: str
    payload_hash: str
    prev_hash: str
    hash: str
    redacted: bool


# The statements of every append, built once (building a Core statement costs more than running it)
_HEAD, _EVENT = core(AuditHead), core(AuditEvent)
READ_HEAD = select(_HEAD.c.last_seq, _HEAD.c.last_hash).where(_HEAD.c.id == 1).with_for_update()
_MOVE = _HEAD.update().where(_HEAD.c.id == 1).values(last_seq=bindparam("b_seq"), last_hash=bindparam("b_hash"))
MOVE_HEAD = Prepared(_MOVE)
MOVE_HEAD_FROM = Prepared(
    _MOVE.where(_HEAD.c.last_seq == bindparam("b_from_seq"), _HEAD.c.last_hash == bindparam("b_from_hash"))
)
INSERT_EVENT = Prepared(_EVENT.insert())
# Connection.info key (it lives as long as the database connection): the (seq, hash) this connection last moved
# the head to. Only a hint: the conditional UPDATE checks it against the row, under the row's lock.
HEAD_HINT = "jornada.audit_head"


def append(
    session: Session | Connection,
    *,
    at: datetime,
    actor: str,
    action: str,
    payload: dict[str, Any] | None = None,
    process_id: str | None = None,
    instance_id: str | None = None,
    task_id: str | None = None,
    customer_id: str | None = None,
) -> Appended:
    """Append one event inside the caller's transaction (Core statements: this is on every operation's path)."""
    conn = session if isinstance(session, Connection) else session.connection()
    text = canonical(payload or {})
    values: dict[str, Any] = {
        "at": at,
        "actor": actor,
        "action": action,
        "process_id": process_id,
        "instance_id": instance_id,
        "task_id": task_id,
        "customer_id": customer_id,
        "payload": text,
        "payload_hash": sha256(text),
        "redacted": False,
    }
    hint: tuple[int, str] | None = conn.info.get(HEAD_HINT)
    if hint is not None:  # most often the head is where this connection left it: move it on in one UPDATE
        _link(values, hint)
        moved = {"b_seq": values["seq"], "b_hash": values["hash"], "b_from_seq": hint[0], "b_from_hash": hint[1]}
        if MOVE_HEAD_FROM.run(conn, moved) != 1:
            hint = None
    if hint is None:  # someone else moved it, or a rollback undid our move: read it under the lock
        found = conn.execute(READ_HEAD).one_or_none()
        if found is None:
            ensure_head(conn)
        _link(values, (0, GENESIS) if found is None else (found[0], found[1]))
        MOVE_HEAD.run(conn, {"b_seq": values["seq"], "b_hash": values["hash"]})
    INSERT_EVENT.run(conn, values)
    conn.info[HEAD_HINT] = (values["seq"], values["hash"])
    return Appended(**values)


def _link(values: dict[str, Any], head: tuple[int, str]) -> None:
    """Make the event in ``values`` the successor of ``head`` (last seq, last hash)."""
    seq, prev_hash = head[0] + 1, head[1]
    digest = _digest(
        prev_hash,
        seq,
        values["at"],
        values["actor"],
        values["action"],
        values["process_id"],
        values["instance_id"],
        values["task_id"],
        values["customer_id"],
        values["payload_hash"],
    )
    values.update(seq=seq, prev_hash=prev_hash, hash=digest)


@dataclass(frozen=True)
class Verification:
    ok: bool
    checked: int
    broken_seq: int | None = None
    reason: str = ""

    def __str__(self) -> str:
        if self.ok:
            return f"audit chain OK: {self.checked} events verified"
        return f"audit chain BROKEN at seq {self.broken_seq}: {self.reason} ({self.checked} events checked)"


def _events(session: Session) -> Iterator[AuditEvent]:
    yield from session.execute(select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=500)).scalars()


def verify(session: Session) -> Verification:
    """Walk the chain from the first row; name the first row that does not verify."""
    prev = GENESIS
    expected_seq = 1
    checked = 0
    redacted_claims: dict[int, int] = {}  # seq -> seq of the redaction event that listed it
    redacted_rows: list[int] = []
    for event in _events(session):
        if event.seq != expected_seq:
            return Verification(False, checked, expected_seq, f"row {expected_seq} is missing")
        if event.prev_hash != prev:
            return Verification(False, checked, event.seq, "prev_hash does not match the previous row's hash")
        if event.redacted:
            redacted_rows.append(event.seq)
        elif sha256(event.payload) != event.payload_hash:
            return Verification(False, checked, event.seq, "payload does not match its payload_hash")
        if row_hash(event) != event.hash:
            return Verification(False, checked, event.seq, "row fields do not match its hash")
        if event.action == REDACTED_ACTION and not event.redacted:
            for seq in json.loads(event.payload).get("seqs", []):
                redacted_claims[int(seq)] = event.seq
        prev = event.hash
        expected_seq += 1
        checked += 1
    for seq in redacted_rows:
        if seq not in redacted_claims:
            return Verification(False, checked, seq, "row is marked redacted but no redaction event lists it")
    return Verification(True, checked)


def redact(session: Session, events: Iterable[AuditEvent], *, at: datetime, actor: str, reason: str) -> list[int]:
    """Replace the payloads of ``events`` with tombstones and record the redaction; returns the seqs."""
    seqs: list[int] = []
    for event in events:
        if event.redacted or event.action == REDACTED_ACTION:
            continue
        event.payload = canonical({"redacted": True, "reason": reason, "at": at.isoformat()})
        event.redacted = True
        seqs.append(event.seq)
    if seqs:
        session.flush()
        append(session, at=at, actor=actor, action=REDACTED_ACTION, payload={"seqs": seqs, "reason": reason})
    return seqs


# -- reading the trail -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Filters:
    """Which events to read; a field left None matches every event. ``since`` is inclusive, ``until`` exclusive;
    ``text`` matches a case-insensitive substring of the payload, actor, action or ids; ``up_to_seq`` pins a
    snapshot of the trail (rows appended later are left out)."""

    actor: str | None = None
    action: str | None = None
    process_id: str | None = None
    instance_id: str | None = None
    customer_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None
    up_to_seq: int | None = None


SEARCHED = (
    AuditEvent.payload,
    AuditEvent.actor,
    AuditEvent.action,
    AuditEvent.process_id,
    AuditEvent.instance_id,
    AuditEvent.customer_id,
)


def _conditions(filters: Filters) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    exact = (
        (AuditEvent.actor, filters.actor),
        (AuditEvent.action, filters.action),
        (AuditEvent.process_id, filters.process_id),
        (AuditEvent.instance_id, filters.instance_id),
        (AuditEvent.customer_id, filters.customer_id),
    )
    found += [column == value for column, value in exact if value]
    if filters.since is not None:
        found.append(AuditEvent.at >= filters.since)
    if filters.until is not None:
        found.append(AuditEvent.at < filters.until)
    if filters.up_to_seq is not None:
        found.append(AuditEvent.seq <= filters.up_to_seq)
    if filters.text:
        escaped = filters.text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        found.append(or_(*(func.lower(c).like(f"%{escaped}%", escape="\\") for c in SEARCHED)))
    return found


def matching(filters: Filters, *, newest_first: bool = True) -> Select[AuditEvent]:
    """The events that pass ``filters``, newest (highest seq) first unless told otherwise."""
    order = AuditEvent.seq.desc() if newest_first else AuditEvent.seq.asc()
    return select(AuditEvent).where(*_conditions(filters)).order_by(order)


def count(session: Session, filters: Filters) -> int:
    return session.execute(select(func.count()).select_from(AuditEvent).where(*_conditions(filters))).scalar_one()


def stream(
    sessions: Callable[[], Session], filters: Filters, *, newest_first: bool = True, batch: int = 500
) -> Iterator[AuditEvent]:
    """Every event passing ``filters`` in order, read in batches, each in a short session of its own (keyset on
    seq), so a long export never holds a transaction open."""
    after: int | None = None
    while True:
        query = matching(filters, newest_first=newest_first).limit(batch)
        if after is not None:
            query = query.where(AuditEvent.seq < after if newest_first else AuditEvent.seq > after)
        with sessions() as session:
            rows = session.execute(query).scalars().all()
        yield from rows
        if len(rows) < batch:
            return
        after = rows[-1].seq


def last_seq(session: Session) -> int:
    """The seq of the newest event (0 on an empty trail)."""
    return session.execute(select(func.coalesce(func.max(AuditEvent.seq), 0))).scalar_one()


def distinct(session: Session, column: InstrumentedAttribute[Any]) -> list[str]:
    """The values a column of the trail holds (actions, actors, processes), sorted, without None."""
    return list(session.execute(select(column).where(column.is_not(None)).distinct().order_by(column)).scalars())
