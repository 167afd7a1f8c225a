"""Scheduler heartbeats: each scheduler upserts its row of ``scheduler_heartbeat`` every tick (on the injected
clock), and /healthz and /metrics read the age of the newest beat of any scheduler.

A heartbeat is telemetry, not a change anyone made: it is not written to the audit trail (one audit row per
scheduler every ten seconds would bury the trail). Rows of schedulers gone for a week are deleted when a
scheduler starts; a scheduler that stops cleanly deletes its own row.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from sqlalchemy import Connection, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from engine._clock import Clock
from engine._store import Store
from engine.models import SchedulerHeartbeat, core

FORGET_AFTER = timedelta(days=7)
_TABLE = core(SchedulerHeartbeat)


def release() -> str:
    """The installed Jornada release (recorded with each beat, so a rolling upgrade shows who runs what)."""
    try:
        return version("jornada")
    except PackageNotFoundError:  # pragma: no cover - running from a checkout that was never installed
        return "unknown"


def node_name(config: Mapping[str, Any]) -> str:
    return str(config["scheduler"]["node_name"]) or f"{socket.gethostname()}:{os.getpid()}"


class Heartbeat:
    """The heartbeat of one scheduler process."""

    def __init__(self, store: Store, clock: Clock, config: Mapping[str, Any]) -> None:
        self.store, self.clock = store, clock
        self.node = node_name(config)
        self.started_at = clock.now()
        self.version = release()[:50]

    def beat(self) -> None:
        now = self.clock.now()
        values = {"node": self.node, "started_at": self.started_at, "beat_at": now, "version": self.version}
        dialect = postgresql if self.store.is_postgres else sqlite
        statement = dialect.insert(_TABLE).values(values)
        statement = statement.on_conflict_do_update(
            index_elements=[_TABLE.c.node],
            set_={"started_at": self.started_at, "beat_at": now, "version": self.version},
        )
        with self.store.unit(now) as unit:
            unit.conn.execute(statement)

    def start(self) -> None:
        """Forget the schedulers not seen for a week, then beat."""
        now = self.clock.now()
        with self.store.unit(now) as unit:
            unit.conn.execute(delete(_TABLE).where(_TABLE.c.beat_at < now - FORGET_AFTER))
        self.beat()

    def stop(self) -> None:
        with self.store.unit(self.clock.now()) as unit:
            unit.conn.execute(delete(_TABLE).where(_TABLE.c.node == self.node))


@dataclass(frozen=True)
class SchedulerState:
    """The newest beat's age (None: no scheduler has ever beaten), and whether it is within the threshold."""

    age_seconds: float | None
    ok: bool
    stale_after_seconds: int

    def json(self) -> dict[str, Any]:
        age = None if self.age_seconds is None else round(self.age_seconds, 1)
        return {"age_seconds": age, "ok": self.ok, "stale_after_seconds": self.stale_after_seconds}


def newest_beat(conn: Connection) -> datetime | None:
    """max() keeps the column's type, so the beat comes back as an aware UTC datetime on every backend."""
    found: datetime | None = conn.execute(select(func.max(_TABLE.c.beat_at))).scalar_one()
    return found


def scheduler_state(conn: Connection, now: datetime, config: Mapping[str, Any]) -> SchedulerState:
    """The scheduler check of /healthz: ``scheduler.heartbeat_stale_seconds`` 0 turns it off (always ok)."""
    stale_after = int(config["scheduler"]["heartbeat_stale_seconds"])
    beat = newest_beat(conn)
    age = None if beat is None else max((now - beat).total_seconds(), 0.0)
    ok = stale_after == 0 or (age is not None and age <= stale_after)
    return SchedulerState(age, ok, stale_after)
