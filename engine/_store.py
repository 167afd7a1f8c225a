"""Database access: engine creation (SQLite WAL or PostgreSQL), read sessions, and ``Store.unit()``, the bare unit
of work (engine._unit explains why a ``Unit`` is the only kind of write transaction)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from engine._dml import PreparedRead
from engine._unit import Unit, open_unit
from engine._wal import Checkpointer, autocheckpoint_pages

if TYPE_CHECKING:
    from engine._execution import Observers

# SQLite settings a database URL can carry as query parameters, with their defaults, e.g.
# sqlite:///var/jornada.db?synchronous=FULL&wal_autocheckpoint=1000. The defaults are a deliberate choice:
#
# synchronous=NORMAL: in WAL mode a commit appends to the WAL without an fsync; the WAL is fsynced when it is
# checkpointed into the database file. A committed operation survives the application crashing or being killed;
# a power loss or an OS crash can roll back the operations committed since the last checkpoint (it never corrupts
# the database). FULL fsyncs the WAL at every commit: durable against power loss too, at one fsync per operation.
#
# wal_autocheckpoint=10000: the WAL size, in 4 KiB pages (~40 MB), at which it is checkpointed (SQLite's own default is
# 1000), by the operation that reached it once it released the writers' lock (engine/_wal.py). A checkpoint costs two
# fsyncs and a write of every page changed since the last one; doing it ten times less often makes each operation
# cheaper (hot pages are written once per checkpoint), at the price of a WAL file of up to ~40 MB, a longer pause for
# the operation that checkpoints, and, with NORMAL, a larger window of operations a power loss can roll back. The WAL
# file is truncated back to 64 MB after a checkpoint if it grew beyond (a long reader can hold a checkpoint back).
SQLITE_SETTINGS = {"synchronous": "NORMAL", "wal_autocheckpoint": "10000"}
SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")


def sqlite_settings(query: Mapping[str, Any]) -> dict[str, str]:
    """The SQLite settings of a URL's query (defaults for those it leaves out); a bad value raises ValueError."""
    settings = {key: str(query.get(key, default)) for key, default in SQLITE_SETTINGS.items()}
    settings["synchronous"] = settings["synchronous"].upper()
    if settings["synchronous"] not in SYNCHRONOUS:
        raise ValueError(f"database URL: synchronous={settings['synchronous']} is not one of {', '.join(SYNCHRONOUS)}")
    if not settings["wal_autocheckpoint"].isdigit():
        raise ValueError(f"database URL: wal_autocheckpoint={settings['wal_autocheckpoint']} is not a page count")
    return settings


READ_ONLY = "jornada_read_only"
SPIN_SECONDS = 0.002  # how long a writer polls the writers' lock before it sleeps on it (WriterLock)


class WriterLock:
    """Queues the writers of one SQLite file across threads and processes (an flock on ``<db>.lock``).

    SQLite's own busy handler makes a waiting writer sleep 1, 2, 5, 10… ms between retries; queued on this lock it
    wakes the moment the previous writer commits. Re-entrant within a thread; re-opened after a fork, so each
    worker process has its own lock file description.

    A writer that finds the lock taken polls it for up to ``SPIN_SECONDS`` (yielding the CPU between tries) before
    it sleeps in flock: an operation holds the lock about a millisecond, and a process the kernel wakes from flock
    starts its transaction later and slower (on the 2-core VM of the benches: bench/sqlite_writers.py, two engine
    processes on one file, 898-916 tasks/s sleeping at once vs 956-997 polling first; bench/http_throughput.py,
    P5 0.71-0.77 vs 0.80-0.81)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._pid = -1
        self._fd = -1
        self._local = threading.local()
        self._threads = threading.Lock()

    def _reset_after_fork(self) -> None:
        if self._pid != os.getpid():
            self._pid, self._threads = os.getpid(), threading.Lock()
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        depth = getattr(self._local, "depth", 0)
        if depth:
            self._local.depth = depth + 1
            try:
                yield
            finally:
                self._local.depth = depth
            return
        self._reset_after_fork()
        with self._threads:
            self._lock_file()
            self._local.depth = 1
            try:
                yield
            finally:
                self._local.depth = 0
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def _lock_file(self) -> None:
        until = time.perf_counter() + SPIN_SECONDS
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.perf_counter() > until:
                    break
                os.sched_yield()
        fcntl.flock(self._fd, fcntl.LOCK_EX)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an Engine. SQLite gets WAL, foreign keys, a busy timeout, the settings of SQLITE_SETTINGS, and write
    transactions that take the write lock at BEGIN (BEGIN IMMEDIATE), so two writers queue instead of failing on
    a lock upgrade; read-only sessions (execution option READ_ONLY) begin deferred and never block a writer."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, **kwargs)
    settings = sqlite_settings(parsed.query)
    parsed = parsed.difference_update_query(list(SQLITE_SETTINGS))
    database = parsed.database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    memory = not database or database == ":memory:"
    pool = {"poolclass": NullPool} if memory else {"pool_size": 8, "max_overflow": 8}
    engine = create_engine(parsed, connect_args={"timeout": 30, "check_same_thread": False}, **pool, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute(f"PRAGMA synchronous={settings['synchronous']}")
        cursor.execute(f"PRAGMA wal_autocheckpoint={autocheckpoint_pages(int(settings['wal_autocheckpoint']))}")
        cursor.execute("PRAGMA journal_size_limit=67108864")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN" if connection.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")

    return engine


class Store:
    """Owns the Engine and hands out sessions, one transaction each."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._read_engine = self.engine.execution_options(**{READ_ONLY: True})
        self._reads = sessionmaker(self._read_engine, expire_on_commit=False)
        database = self.engine.url.database
        file_backed = self.engine.dialect.name == "sqlite" and database not in (None, "", ":memory:")
        self._writers = WriterLock(f"{database}.lock") if file_backed else None
        self._checkpoints = None
        if file_backed:
            pages = int(sqlite_settings(make_url(url).query)["wal_autocheckpoint"])
            self._checkpoints = Checkpointer(str(database), pages, self.engine)

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def writing(self) -> contextlib.AbstractContextManager[None]:
        """Hold the writers' queue for the duration of a write transaction (SQLite files; a no-op elsewhere)."""
        return contextlib.nullcontext() if self._writers is None else self._writers.hold()

    @contextlib.contextmanager
    def unit(self, now: datetime | None = None, observers: Observers | None = None) -> Iterator[Unit]:
        """One write transaction, at ``now`` (default: the wall clock): commit if the block returns, roll back
        everything if it raises. An engine operation opens one with ``Runtime.unit()`` instead."""
        with (
            self.writing(),
            self.engine.connect() as conn,
            open_unit(conn, now or datetime.now(UTC), observers) as unit,
        ):
            yield unit
        if self._checkpoints is not None:  # committed, and the writers' lock is released (engine/_wal.py)
            self._checkpoints.after_write()

    def reading(self) -> Connection:
        """A Core connection for read-only queries, without an ORM session (use as a context manager)."""
        return self._read_engine.connect()

    def read_one(self, query: PreparedRead, params: Mapping[str, Any]) -> Sequence[Any] | None:
        """The one row of a prepared lookup, or None (engine._dml)."""
        return query.one_or_none(self._read_engine, params)

    def session(self) -> Session:
        """A session for read-only queries (the caller closes it); on SQLite it never blocks a writer."""
        return self._reads()

    def create_schema(self) -> None:
        """Create every table from the models (tests); production uses ``migrate``."""
        from engine._audit import ensure_head
        from engine.models import Base

        Base.metadata.create_all(self.engine)
        with self.unit() as unit:
            ensure_head(unit.session)

    def migrate(self) -> None:
        """Bring the database to the newest Alembic revision."""
        from alembic import command
        from alembic.config import Config

        root = Path(__file__).resolve().parent.parent
        config = Config()
        config.set_main_option("script_location", str(root / "migrations"))
        config.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        config.attributes["engine"] = self.engine
        command.upgrade(config, "head")

    def dispose(self) -> None:
        self.engine.dispose()
