"""The audit trail: an append-only, hash-chained table.

Each row's ``hash`` covers the previous row's hash, the row's own fields and ``payload_hash`` (sha256 of the
canonical payload JSON). Appends lock the single ``audit_head`` row, so concurrent transactions queue and the
chain never forks: an append moves the head with one UPDATE conditioned on the head this connection last wrote
(seq and hash), and reads it under the lock first only when someone else moved it since. Redaction (a GDPR
deletion) replaces a payload with a tombstone but keeps ``payload_hash``; the redaction is itself an audit event
naming the rows it redacted, so verify still passes afterwards and a payload swapped for a fake tombstone does not.

``verify`` also checks the chain's end against the head: deleting the newest rows, or appending a row outside
``append``, is named. Someone who can write the database can still rewrite the head too; what catches that is the
signed anchors kept outside the database (engine/_anchors.py). The audit page verifies incrementally from the mark in
``audit_checkpoint`` (the rows after it, and the rows it shows); ``jornada audit verify`` walks the whole chain.
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

from engine._dml import Prepared
from engine._enums import AuditAction
from engine.models import AuditCheckpoint, AuditEvent, AuditHead, core

GENESIS = "0" * 64
REDACTED_ACTION = AuditAction.AUDIT_REDACTED


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
    """What a walk of the chain found: ``checked`` rows verified, ending at ``last_seq`` (hash ``last_hash``), or the
    first row that does not verify."""

    ok: bool
    checked: int
    broken_seq: int | None = None
    reason: str = ""
    last_seq: int = 0
    last_hash: str = GENESIS

    def __str__(self) -> str:
        if self.ok:
            return f"audit chain OK: {self.checked} events verified"
        return f"audit chain BROKEN at seq {self.broken_seq}: {self.reason} ({self.checked} events checked)"


Mark = tuple[int, str]  # (seq, hash) of a row the chain was verified up to; (0, GENESIS) before the first row
START: Mark = (0, GENESIS)


def row_problem(event: AuditEvent) -> str | None:
    """Why a row does not match its own hashes (None when it does); its link to the row before is not checked."""
    if not event.redacted and sha256(event.payload) != event.payload_hash:
        return "payload does not match its payload_hash"
    if row_hash(event) != event.hash:
        return "row fields do not match its hash"
    return None


def _missing(first: int, last: int) -> str:
    return f"row {first} is missing" if first == last else f"rows {first}..{last} are missing"


class _Walk:
    """The chain walked in seq order from a mark; stops at the first row that does not verify."""

    def __init__(self, mark: Mark) -> None:
        self.seq, self.hash = mark
        self.checked = 0
        self.broken: tuple[int, str] | None = None
        self.redacted_claims: set[int] = set()
        self.redacted_rows: list[int] = []

    def run(self, session: Session) -> int:
        """Walk the rows after the current position; returns how many were read."""
        query = select(AuditEvent).where(AuditEvent.seq > self.seq).order_by(AuditEvent.seq)
        read = 0
        with session.execute(query.execution_options(yield_per=500)) as rows:  # closes the server cursor on a break
            for event in rows.scalars():
                read += 1
                if not self._step(event):
                    break
        return read

    def _step(self, event: AuditEvent) -> bool:
        if event.seq != self.seq + 1:
            self.broken = (self.seq + 1, _missing(self.seq + 1, event.seq - 1))
        elif event.prev_hash != self.hash:
            self.broken = (event.seq, "prev_hash does not match the previous row's hash")
        else:
            problem = row_problem(event)
            if problem is not None:
                self.broken = (event.seq, problem)
        if self.broken is not None:
            return False
        if event.redacted:
            self.redacted_rows.append(event.seq)
        if event.action == REDACTED_ACTION and not event.redacted:
            self.redacted_claims.update(int(seq) for seq in json.loads(event.payload).get("seqs", []))
        self.seq, self.hash = event.seq, event.hash
        self.checked += 1
        return True

    def result(self) -> Verification:
        if self.broken is None:
            unclaimed = [seq for seq in self.redacted_rows if seq not in self.redacted_claims]
            if unclaimed:
                self.broken = (unclaimed[0], "row is marked redacted but no redaction event lists it")
        if self.broken is not None:
            return Verification(False, self.checked, self.broken[0], self.broken[1], self.seq, self.hash)
        return Verification(True, self.checked, last_seq=self.seq, last_hash=self.hash)


def read_head(session: Session) -> Mark | None:
    """The head the appends keep (last seq, last hash), read without a lock; None when there is no head row."""
    found = session.execute(select(AuditHead.last_seq, AuditHead.last_hash).where(AuditHead.id == 1)).first()
    return None if found is None else (found[0], found[1])


def verify(session: Session, since: Mark = START) -> Verification:
    """Walk the chain from ``since`` (by default the first row) to its end and check the end against the head the
    appends keep; name the first row that does not verify. A newest row deleted (the head is further on), or a
    row appended outside the engine (it is beyond the head) is named, as is a ``since`` row no longer there."""
    if since != START:
        found = session.execute(select(AuditEvent.hash).where(AuditEvent.seq == since[0])).scalar_one_or_none()
        if found is None:
            return _gone(session, since[0])
        if found != since[1]:
            return Verification(False, 0, since[0], "row's hash differs from the one verified before")
    walk = _Walk(since)
    walk.run(session)
    # The head is read after the rows, so a row committed meanwhile is at or below it; rows committed between the
    # walk and the head's read are walked in a second pass before anything is called missing.
    head = read_head(session)
    for _ in range(3):
        if walk.broken is not None or head is None or head[0] <= walk.seq or walk.run(session) == 0:
            break
        head = read_head(session)
    if walk.broken is None:
        walk.broken = _against_head(walk.seq, walk.hash, head)
    return walk.result()


def _gone(session: Session, seq: int) -> Verification:
    """The row ``seq``, verified before, is gone: name the whole gap around it."""
    below = session.execute(select(func.max(AuditEvent.seq)).where(AuditEvent.seq < seq)).scalar_one() or 0
    above = session.execute(select(func.min(AuditEvent.seq)).where(AuditEvent.seq > seq)).scalar_one()
    head = read_head(session)
    last = above - 1 if above is not None else max(seq, head[0] if head else 0)
    return Verification(False, 0, below + 1, f"{_missing(below + 1, last)}, though verified up to row {seq} before")


def _against_head(seq: int, digest: str, head: Mark | None) -> tuple[int, str] | None:
    """How the last verified row (seq, hash) disagrees with the head; None when it agrees."""
    if head is None:
        return None if seq == 0 else (seq, "the audit head row is missing")
    if head[0] > seq:
        return (seq + 1, f"{_missing(seq + 1, head[0])}: the head records seq {head[0]} (newest rows deleted)")
    if head[0] < seq:
        return (head[0] + 1, f"rows {head[0] + 1}..{seq} are beyond the head (seq {head[0]}): not appended by Jornada")
    if head[1] != digest:
        return (seq, "row's hash differs from the head's")
    return None


# -- the audit page's verified mark ----------------------------------------------------------------------------
_MARK = core(AuditCheckpoint)


def verified_mark(session: Session) -> Mark:
    """Where the chain was last verified up to (the first row when never)."""
    found = session.execute(select(_MARK.c.seq, _MARK.c.hash).where(_MARK.c.id == 1)).first()
    return START if found is None else (found[0], found[1])


def advance_mark(session: Session, old: Mark, new: Mark, *, at: datetime) -> bool:
    """Move the verified mark from ``old`` to ``new``; False when someone else moved it first."""
    values = {"seq": new[0], "hash": new[1], "verified_at": at}
    if old == START and session.execute(select(_MARK.c.id).where(_MARK.c.id == 1)).first() is None:
        session.execute(_MARK.insert(), {"id": 1, **values})
        return True
    moved = session.execute(
        _MARK.update().where(_MARK.c.id == 1, _MARK.c.seq == old[0], _MARK.c.hash == old[1]).values(**values)
    )
    return bool(moved.rowcount == 1)  # type: ignore[attr-defined]


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
