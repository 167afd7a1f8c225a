"""Shared fixtures: a fresh database per test (SQLite by default, PostgreSQL when JORNADA_TEST_DB=postgresql),
a frozen clock, one sandbox worker for the whole session, and a runtime wired with the real handlers."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from engine import FrozenClock, Runtime, Store, load_config
from engine._outbox import LogTransport
from engine._sandbox import Sandbox
from processes import build_registry
from tests.helpers import PG_ADMIN_URL, backend

pytest_plugins = ["tests.web.fixtures"]


def _fresh_postgres() -> Iterator[str]:
    name = f"jornada_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(autouse=True)
def _logging_restored() -> Iterator[None]:
    """Undo the logging set-up a test's CLI run or app made (engine._logs.configure, logging.basicConfig): the
    handler they add writes to the stderr pytest captured for that test, which is closed once the test ends, so a
    later test's log line would fail with "I/O operation on closed file". Loggers' levels are restored too."""
    root = logging.getLogger()
    handlers = list(root.handlers)
    levels = {name: logging.getLogger(name).level for name in ["", *logging.Logger.manager.loggerDict]}
    yield
    for handler in root.handlers[:]:
        if handler not in handlers and not type(handler).__module__.startswith("_pytest"):
            root.removeHandler(handler)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    if backend() == "postgresql":
        yield from _fresh_postgres()
    else:
        yield f"sqlite:///{tmp_path / 'jornada.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database, for the tests that are about PostgreSQL whatever the backend."""
    try:
        yield from _fresh_postgres()
    except Exception as exc:  # pragma: no cover - reported, never silently skipped in CI
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc}")


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    box = Sandbox(budget_seconds=1.0, memory_mb=512)
    yield box
    box.close()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def config(tmp_path: Path) -> dict:
    return load_config({"data_dir": str(tmp_path / "var")}, environ={})


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    store = Store(database_url)
    store.create_schema()
    yield store
    store.dispose()


@pytest.fixture
def mail() -> LogTransport:
    return LogTransport()


@pytest.fixture
def live_cache() -> bool:
    """Whether the runtime keeps deserialized workflows between operations; the process tests override this with
    False so that every step of a shipped process goes through the workflow's saved JSON."""
    return True


@pytest.fixture
def runtime(
    store: Store, clock: FrozenClock, config: dict, sandbox: Sandbox, mail: LogTransport, live_cache: bool
) -> Iterator[Runtime]:
    rt = Runtime(
        store, build_registry(), clock=clock, config=config, transport=mail, sandbox=sandbox, live_cache=live_cache
    )
    yield rt
    rt.close()
