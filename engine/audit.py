"""The audit trail: an append-only, hash-chained table.

Each row's ``hash`` covers the previous row's hash, the row's own fields and ``payload_hash`` (sha256 of the
canonical payload JSON). Appends lock the single ``audit_head`` row, so concurrent transactions queue and the
chain never forks. Redaction (a GDPR deletion) replaces a payload with a tombstone but keeps ``payload_hash``;
the redaction is itself an audit event naming the rows it redacted, so verify still passes afterwards and a
payload swapped for a fake tombstone does not.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.models import AuditEvent, AuditHead, core

GENESIS = "0" * 64
REDACTED_ACTION = "audit_redacted"


def canonical(payload: Any) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def row_hash(event: AuditEvent) -> str:
    fields = [
        event.prev_hash,
        str(event.seq),
        event.at.isoformat(),
        event.actor,
        event.action,
        event.process_id or "",
        event.instance_id or "",
        event.task_id or "",
        event.customer_id or "",
        event.payload_hash,
    ]
    return sha256("\x1f".join(fields))


def ensure_head(session: Session) -> None:
    if session.get(AuditHead, 1) is None:
        session.add(AuditHead(id=1, last_seq=0, last_hash=GENESIS))
        session.flush()


def append(
    session: Session,
    *,
    at: datetime,
    actor: str,
    action: str,
    payload: dict[str, Any] | None = None,
    process_id: str | None = None,
    instance_id: str | None = None,
    task_id: str | None = None,
    customer_id: str | None = None,
) -> AuditEvent:
    """Append one event inside the caller's transaction (Core statements: this is on every operation's path)."""
    conn, head_table = session.connection(), core(AuditHead)
    found = conn.execute(
        select(head_table.c.last_seq, head_table.c.last_hash).where(head_table.c.id == 1).with_for_update()
    ).one_or_none()
    if found is None:
        ensure_head(session)
    head: tuple[int, str] = (0, GENESIS) if found is None else (found[0], found[1])
    text = canonical(payload or {})
    event = AuditEvent(
        seq=head[0] + 1,
        at=at,
        actor=actor,
        action=action,
        process_id=process_id,
        instance_id=instance_id,
        task_id=task_id,
        customer_id=customer_id,
        payload=text,
        payload_hash=sha256(text),
        prev_hash=head[1],
        redacted=False,
    )
    event.hash = row_hash(event)
    values = {c.key: getattr(event, c.key) for c in core(AuditEvent).columns}
    conn.execute(core(AuditEvent).insert(), values)
    conn.execute(head_table.update().where(head_table.c.id == 1).values(last_seq=event.seq, last_hash=event.hash))
    return event


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
