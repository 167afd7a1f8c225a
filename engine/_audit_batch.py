"""Many audit events appended in one go: the head is moved once and the events are inserted with one executemany.

The chain is the one ``audit.append`` writes (each event is the successor of the one before it), so ``audit.verify``
cannot tell the difference; a batch of N events costs two statements instead of 2N. Used where one transaction
writes many events at once (the stuck-step sweep: one ``alert_raised`` event per alert)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from engine import _audit as audit
from engine.models import AuditEvent, core

INSERT_EVENTS = core(AuditEvent).insert()


@dataclass(frozen=True)
class Event:
    """One event to append; the fields of ``audit.append``."""

    at: datetime
    actor: str
    action: str
    payload: dict[str, Any] = field(default_factory=dict)
    process_id: str | None = None
    instance_id: str | None = None
    task_id: str | None = None
    customer_id: str | None = None


def append_many(conn: Connection, events: Sequence[Event]) -> list[audit.Appended]:
    """Append ``events`` in order inside the caller's transaction (which serialises on the head row like
    ``audit.append``); returns them as written."""
    if not events:
        return []
    rows = [_values(event) for event in events]
    hint: tuple[int, str] | None = conn.info.get(audit.HEAD_HINT)
    if hint is not None:  # most often the head is where this connection left it: move it on in one UPDATE
        _chain(rows, hint)
        moved = {
            "b_seq": rows[-1]["seq"],
            "b_hash": rows[-1]["hash"],
            "b_from_seq": hint[0],
            "b_from_hash": hint[1],
        }
        if conn.execute(audit.MOVE_HEAD_FROM.statement, moved).rowcount != 1:
            hint = None
    if hint is None:  # someone else moved it, or a rollback undid our move: read it under the lock
        found = conn.execute(audit.READ_HEAD).one_or_none()
        if found is None:
            audit.ensure_head(conn)
        _chain(rows, (0, audit.GENESIS) if found is None else (found[0], found[1]))
        conn.execute(audit.MOVE_HEAD.statement, {"b_seq": rows[-1]["seq"], "b_hash": rows[-1]["hash"]})
    conn.execute(INSERT_EVENTS, rows)
    conn.info[audit.HEAD_HINT] = (rows[-1]["seq"], rows[-1]["hash"])
    return [audit.Appended(**row) for row in rows]


def _values(event: Event) -> dict[str, Any]:
    text = audit.canonical(event.payload)
    return {
        "at": event.at,
        "actor": event.actor,
        "action": event.action,
        "process_id": event.process_id,
        "instance_id": event.instance_id,
        "task_id": event.task_id,
        "customer_id": event.customer_id,
        "payload": text,
        "payload_hash": audit.sha256(text),
        "redacted": False,
    }


def _chain(rows: list[dict[str, Any]], head: tuple[int, str]) -> None:
    """Link ``rows`` one after the other, the first as the successor of ``head`` (last seq, last hash)."""
    for row in rows:
        audit._link(row, head)  # the chain's one definition of a successor
        head = (row["seq"], row["hash"])
