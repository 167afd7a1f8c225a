"""What /healthz reports, without Flask: the database reachable, its Alembic revision against the one this code
expects, and the age of the newest scheduler heartbeat. Three small reads on one connection (has the
alembic_version table, its revision, max(beat_at)).

Migrations: ``current`` when the database is at this code's head; ``behind`` when it is at an older revision this
code knows (run ``jornada init-db``); ``ahead`` when it is at a revision this code does not know (a newer release
migrated it: the node is old, see docs/deployment.md on rolling upgrades; healthy, since migrations add before they
remove); ``unversioned`` when it has no alembic_version table: a schema made by ``create_all`` (the test suite's
databases) or an empty database; not healthy, since nothing says it matches the models (``alembic stamp head``
marks a schema made from the models as current).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.exc import SQLAlchemyError

from engine._clock import Clock
from engine._heartbeat import SchedulerState, scheduler_state
from engine._store import Store

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
HEALTHY_MIGRATIONS = ("current", "ahead")
log = logging.getLogger(__name__)


@functools.cache
def script_directory() -> ScriptDirectory:
    """The migrations shipped with this code (files: read once per process)."""
    return ScriptDirectory(str(MIGRATIONS))


def expected_heads() -> frozenset[str]:
    return frozenset(script_directory().get_heads())


def migration_state(database_heads: tuple[str, ...]) -> str:
    if not database_heads:
        return "unversioned"
    if frozenset(database_heads) == expected_heads():
        return "current"
    known = {script.revision for script in script_directory().walk_revisions()}
    return "behind" if set(database_heads) <= known else "ahead"


@dataclass(frozen=True)
class Readiness:
    database: str  # ok | error
    migrations: str | None = None  # current | behind | ahead | unversioned (None: database unreachable)
    scheduler: SchedulerState | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return (
            self.database == "ok"
            and self.migrations in HEALTHY_MIGRATIONS
            and self.scheduler is not None
            and self.scheduler.ok
        )

    def json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "status": "ok" if self.healthy else "unhealthy",
            "database": self.database,
            "migrations": self.migrations,
            "scheduler": None if self.scheduler is None else self.scheduler.json(),
        }
        if self.errors:
            body["errors"] = self.errors
        return body


def check(store: Store, clock: Clock, config: Mapping[str, Any]) -> Readiness:
    """The readiness of this node. A database error is logged in full and named by its class only in the answer
    (its message may carry host and user names)."""
    try:
        with store.reading() as conn:  # on SQLite a deferred BEGIN: never queues behind or blocks a writer
            heads = MigrationContext.configure(conn).get_current_heads()
            state = migration_state(heads)
            if state == "unversioned":
                return Readiness("ok", state, None, [_UNVERSIONED])
            scheduler = scheduler_state(conn, clock.now(), config)
    except SQLAlchemyError as exc:
        log.warning("healthz: the database is unreachable or failing: %s", exc)
        return Readiness("error", errors=[f"the database is unreachable or failing ({type(exc).__name__})"])
    errors = []
    if state == "behind":
        errors.append("the database schema is older than this code: run `jornada init-db`")
    if not scheduler.ok:
        errors.append(
            "no scheduler has written a heartbeat"
            if scheduler.age_seconds is None
            else f"the newest scheduler heartbeat is older than {scheduler.stale_after_seconds} s"
        )
    return Readiness("ok", state, scheduler, errors)


_UNVERSIONED = "the database has no Alembic revision: run `jornada init-db` (or `alembic stamp head`)"


def multi_node_warnings(config: Mapping[str, Any]) -> list[str]:
    """What this node keeps in its own ``data_dir`` that other nodes must share, on a database several nodes can
    use (PostgreSQL): logged when ``jornada serve`` and ``jornada scheduler`` start (docs/deployment.md)."""
    if not str(config["database_url"]).startswith("postgresql"):
        return []
    found = []
    if not config["web"]["secret_key"]:
        found.append(
            "web.secret_key is empty: this node signs session cookies and survey links with its own "
            f"{config['data_dir']}/secret_key; give every web server and scheduler the same key "
            "($JORNADA_WEB_SECRET_KEY) or a shared data_dir, or sign-ins and survey links break between nodes"
        )
    if int(config["audit"]["anchor_interval_seconds"]) and not config["audit"]["anchor_key"]:
        found.append(
            "audit.anchor_key is empty: this scheduler signs audit checkpoints with the key file in its own "
            "data_dir; anchor from one scheduler only (audit.anchor_interval_seconds = 0 on the others) "
            "or give them all the same key and anchor file"
        )
    return found
