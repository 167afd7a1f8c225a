"""Scheduler tick at scale: one ``run_once`` pass (fire due timers, sweep stuck steps, drain the outbox) at 10,000
and at 1,000,000 ``human_task`` rows, with the same work due in each: 1,000 tasks past their warn moment and the
timers of a few real instances. Goal: tick(1M) / tick(10k) <= 1.5 (issue 11).

Each size gets a fresh database: an SQLite file in a temporary directory, and a fresh PostgreSQL database (created
and dropped here) when JORNADA_TEST_PG_URL is set or ``--db postgresql``. The schema comes from the models
(``Store.create_schema``); the rows are bulk inserted straight into the tables (executemany on SQLite, COPY on
PostgreSQL, then ANALYZE there as autovacuum would; SQLite gets no ANALYZE: the sweep must not need statistics):

- ``process_instance``: one waiting instance per 10 tasks (their workflows are never loaded), each with a timer due
  far in the future;
- ``human_task``: 40 % open (more at small sizes, so the due sets fit), 60 % completed. Of the open tasks, 30 % are
  an overdue backlog already alerted at both levels (with their ``alert`` rows), ``--due`` per tick are due for a
  ``behind`` alert (a fresh set for each tick: tick r runs at T0 + r days, when exactly the set of tick r has just
  come due), and the rest are due in a year;
- real instances of a small deployed process (start, a timer, end): ``--timers`` of them due per tick, fired for
  real (loaded, advanced, saved, audited).

The runtime has no domain plugins (``HandlerRegistry()``): the tick is the engine's own jobs. The first tick warms
up and is not counted; the time printed is the median of ``--runs`` ticks. "statements per alert" counts the SQL
statements the sweep sent (SQLAlchemy ``before_cursor_execute``; an executemany is one) per alert raised.

Usage: python bench/scheduler_scale.py [--sizes 10000,1000000] [--db sqlite|postgresql|both] [--runs 3]
       [--due 1000] [--timers 20] [--explain]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, event, text  # noqa: E402

from engine import FrozenClock, Runtime, Store, load_config  # noqa: E402
from engine import _alerts as alerts  # noqa: E402
from engine import _due_work as due_work  # noqa: E402
from engine._handlers import HandlerRegistry  # noqa: E402
from engine._outbox import LogTransport  # noqa: E402
from engine._scheduler import run_once  # noqa: E402

GOAL = 1.5
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # tick r runs at T0 + r days + 1 hour
FAR = T0 + timedelta(days=365)
PAST = T0 - timedelta(days=30)
TASKS_PER_INSTANCE = 10
TIMER_PROCESS = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs" targetNamespace="http://b">
<bpmn:process id="pause" name="pause" isExecutable="true">
<bpmn:startEvent id="start"/>
<bpmn:intermediateCatchEvent id="wait" name="Wait"><bpmn:timerEventDefinition>
<bpmn:timeDuration>delay</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
<bpmn:endEvent id="end"/>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait"/>
<bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="end"/>
</bpmn:process></bpmn:definitions>"""

TASK_COLUMNS = (
    "instance_id",
    "task_id",
    "element_id",
    "name",
    "process_id",
    "customer_id",
    "candidate_groups",
    "assignee",
    "priority",
    "state",
    "created_at",
    "claimed_at",
    "completed_at",
    "completed_by",
    "due_at",
    "warn_at",
    "stuck_at",
    "behind_alerted_at",
    "stuck_alerted_at",
)
INSTANCE_COLUMNS = (
    "id",
    "definition_id",
    "process_id",
    "called_definitions",
    "customer_id",
    "business_key",
    "status",
    "incident",
    "state_json",
    "waiting_messages",
    "serializer_version",
    "version",
    "started_by",
    "started_at",
    "ended_at",
)
TIMER_COLUMNS = ("instance_id", "task_id", "element_id", "due_at")
ALERT_COLUMNS = ("human_task_id", "instance_id", "level", "raised_at", "raised_by", "channels")


@dataclass(frozen=True)
class Mix:
    """How many rows of each kind a size gets."""

    rows: int
    due: int  # per tick
    ticks: int

    @property
    def open(self) -> int:
        # 40 % open; more when the due sets of all ticks and the backlog would not fit
        return min(self.rows, max(int(self.rows * 0.4), int(self.due * self.ticks / 0.7) + 1))

    @property
    def backlog(self) -> int:
        return int(self.open * 0.3)

    @property
    def future(self) -> int:
        return self.open - self.backlog - self.due * self.ticks

    def check(self) -> None:
        if self.future < 0:
            raise SystemExit(
                f"{self.rows:,} rows cannot hold {self.ticks} ticks of {self.due:,} due tasks and the backlog: "
                "use more rows or a smaller --due"
            )

    @property
    def instances(self) -> int:
        return max(1, self.rows // TASKS_PER_INSTANCE)


@dataclass
class Result:
    db: str
    rows: int
    tick_ms: float
    alerts: int
    timers: int
    statements_per_alert: float
    fill_seconds: float


# -- filling -------------------------------------------------------------------------------------------------
def instance_rows(mix: Mix, definition_id: int) -> Iterator[tuple[Any, ...]]:
    for n in range(mix.instances):
        yield (
            f"bench-{n:08d}",
            definition_id,
            "pause",
            "[]",
            f"C-{n % 5000}",
            None,
            "waiting",
            None,
            "{}",
            "",
            "1",
            1,
            "bench",
            PAST,
            None,
        )


def timer_rows(mix: Mix) -> Iterator[tuple[Any, ...]]:
    for n in range(mix.instances):
        yield (f"bench-{n:08d}", f"timer-{n}", "wait", FAR + timedelta(minutes=n % 1440))


def task_rows(mix: Mix) -> Iterator[tuple[Any, ...]]:
    """Backlog first (ids 1..backlog: their alert rows name them), then the due sets, the future tasks and the
    completed ones."""
    kinds: list[tuple[int, Callable[[int], tuple[Any, ...]]]] = [
        (mix.backlog, lambda i: ("ready", PAST, PAST, PAST, PAST + timedelta(days=1), PAST + timedelta(days=2))),
        *[
            (mix.due, _due_at(tick))
            for tick in range(mix.ticks)  # tick r's set comes due just before T0 + r days + 1 hour
        ],
        (mix.future, lambda i: ("claimed", None, FAR, FAR, None, None)),
        (mix.rows - mix.open, lambda i: ("completed", PAST, PAST, PAST, PAST, PAST)),
    ]
    n = 0
    for count, make in kinds:
        for _ in range(count):
            state, due, warn, stuck, behind, stuck_alerted = make(n)
            done = state == "completed"
            yield (
                f"bench-{n // TASKS_PER_INSTANCE:08d}",
                str(n),
                "review",
                "Review the account",
                "pause",
                f"C-{(n // TASKS_PER_INSTANCE) % 5000}",
                "csm",
                "ana" if state == "claimed" or done else None,
                50,
                state,
                PAST - timedelta(days=1),
                PAST if state == "claimed" or done else None,
                PAST + timedelta(days=3) if done else None,
                "ana" if done else None,
                due,
                warn,
                stuck,
                behind,
                stuck_alerted,
            )
            n += 1


def _due_at(tick: int) -> Callable[[int], tuple[Any, ...]]:
    moment = T0 + timedelta(days=tick, minutes=30)
    return lambda i: ("ready", FAR, moment, FAR, None, None)


def alert_rows(mix: Mix) -> Iterator[tuple[Any, ...]]:
    for n in range(mix.backlog):
        for level in ("behind", "stuck"):
            yield (n + 1, f"bench-{n // TASKS_PER_INSTANCE:08d}", level, PAST + timedelta(days=2), "scheduler", "mail")


def stamp(value: Any) -> Any:
    """A value as SQLAlchemy stores it on SQLite (UTCDateTime is text)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    return value


def bulk_sqlite(store: Store, table: str, columns: tuple[str, ...], rows: Iterator[tuple[Any, ...]]) -> None:
    raw = store.engine.raw_connection()
    try:
        conn = raw.driver_connection
        assert conn is not None
        marks = ", ".join("?" for _ in columns)
        conn.execute("BEGIN IMMEDIATE")
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
        chunk: list[tuple[Any, ...]] = []
        for row in rows:
            chunk.append(tuple(stamp(v) for v in row))
            if len(chunk) == 50_000:
                conn.executemany(sql, chunk)
                chunk.clear()
        conn.executemany(sql, chunk)
        conn.execute("COMMIT")
    finally:
        raw.close()


def bulk_postgres(store: Store, table: str, columns: tuple[str, ...], rows: Iterator[tuple[Any, ...]]) -> None:
    raw = store.engine.raw_connection()
    try:
        conn: Any = raw.driver_connection
        with conn.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        conn.commit()
    finally:
        raw.close()


def fill(store: Store, runtime: Runtime, clock: FrozenClock, mix: Mix, timers: int) -> None:
    mix.check()
    clock.set(T0 - timedelta(days=1))
    [deployed] = runtime.deploy({"pause.bpmn": TIMER_PROCESS}, actor="bench")
    bulk = bulk_postgres if store.is_postgres else bulk_sqlite
    bulk(store, "process_instance", INSTANCE_COLUMNS, instance_rows(mix, deployed.definition_id))
    bulk(store, "timer", TIMER_COLUMNS, timer_rows(mix))
    bulk(store, "human_task", TASK_COLUMNS, task_rows(mix))
    bulk(store, "alert", ALERT_COLUMNS, alert_rows(mix))
    for tick in range(mix.ticks):  # due at T0 + tick days
        for _ in range(timers):
            runtime.start("pause", actor="bench", customer_id="C-1", data={"delay": f"P{tick + 1}D"})
    if store.is_postgres:
        with store.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))


# -- measuring -----------------------------------------------------------------------------------------------
SWEEPING = [False]  # set while ``alerts.sweep`` runs: the statements counted are the sweep's


class Sized:
    """One size's database, filled, with its runtime and what its ticks measured."""

    def __init__(self, db: str, url: str, tmp: str, rows: int, *, due: int, timers: int, ticks: int) -> None:
        self.db, self.rows, self.due, self.timers = db, rows, due, timers
        self.store = Store(url)
        self.store.create_schema()
        self.clock = FrozenClock(T0)
        config = load_config({"database_url": url, "data_dir": tmp}, environ={})
        self.runtime = Runtime(self.store, HandlerRegistry(), clock=self.clock, config=config, transport=LogTransport())
        self.times: list[float] = []
        self.statements = self.alerts = self.fired = 0
        began = time.perf_counter()
        fill(self.store, self.runtime, self.clock, Mix(rows, due, ticks), timers)
        self.fill_seconds = time.perf_counter() - began
        event.listen(self.store.engine, "before_cursor_execute", self._count)

    def _count(self, *_args: Any) -> None:
        if SWEEPING[0]:
            self.statements += 1

    def tick(self, tick: int) -> None:
        """Run tick ``tick`` (the first one warms up and is not counted)."""
        self.clock.set(T0 + timedelta(days=tick, hours=1))
        statements = self.statements
        began = time.perf_counter()
        did = run_once(self.runtime)
        elapsed = time.perf_counter() - began
        if did["alerts_raised"] != self.due or did["timers_fired"] != self.timers:
            expected = f"expected {self.due} alerts, {self.timers} timers"
            raise SystemExit(f"tick {tick} at {self.rows} rows did {did}, {expected}")
        if tick == 0:
            self.statements = statements
            return
        self.times.append(elapsed)
        self.alerts += did["alerts_raised"]
        self.fired += did["timers_fired"]

    def result(self) -> Result:
        runs = len(self.times)
        per_alert = self.statements / self.alerts if self.alerts else 0.0
        tick_ms = statistics.median(self.times) * 1000
        return Result(
            self.db, self.rows, tick_ms, self.alerts // runs, self.fired // runs, per_alert, self.fill_seconds
        )

    def close(self) -> None:
        event.remove(self.store.engine, "before_cursor_execute", self._count)
        self.runtime.close()


@contextmanager
def flagging_sweeps() -> Iterator[None]:
    """Set ``SWEEPING`` while ``alerts.sweep`` runs."""
    original = alerts.sweep

    def sweep(*args: Any, **kwargs: Any) -> list[int]:
        SWEEPING[0] = True
        try:
            return original(*args, **kwargs)
        finally:
            SWEEPING[0] = False

    alerts.sweep = sweep  # type: ignore[assignment]
    try:
        yield
    finally:
        alerts.sweep = original  # type: ignore[assignment]


def measure(
    db: str, pg_url: str | None, sizes: list[int], *, due: int, timers: int, runs: int, explain: bool
) -> list[Result]:
    """Fill one database per size, then run the ticks alternating between the sizes (tick 0 of each, tick 1 of
    each, ...), so that whatever else the machine does weighs on every size alike."""
    with contextlib.ExitStack() as stack:
        benches: list[Sized] = []
        for rows in sizes:
            url = stack.enter_context(sqlite_database() if db == "sqlite" else postgres_database(pg_url or ""))
            tmp = stack.enter_context(tempfile.TemporaryDirectory())
            sized = Sized(db, url, tmp, rows, due=due, timers=timers, ticks=runs + 1)
            stack.callback(sized.close)
            benches.append(sized)
            if explain:
                show_plans(sized.store)
        with flagging_sweeps():
            for tick in range(runs + 1):
                for sized in benches:
                    sized.tick(tick)
        return [sized.result() for sized in benches]


def show_plans(store: Store) -> None:
    dialect = store.engine.dialect.name
    queries = [
        ("behind claim", due_work.claim_sql(dialect, "behind", "warn_at", "behind_alerted_at")),
        ("due timers", due_work.due_timers_sql(dialect)),
    ]
    prefix = "EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN "
    with store.engine.connect() as conn:
        for name, sql in queries:
            print(f"  plan of the {name} ({dialect}):")
            plan = text(prefix + sql).bindparams(*due_work.binds())
            for row in conn.execute(plan, {"b_now": T0, "b_limit": 500}):
                print(f"    {row[-1]}")
        conn.rollback()


# -- databases -----------------------------------------------------------------------------------------------
@contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        yield f"sqlite:///{tmp}/bench.db"


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    name = f"jornada_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{admin_url.rsplit('/', 1)[0]}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def databases(choice: str, pg_url: str | None) -> list[str]:
    if choice == "both":
        return ["sqlite", "postgresql"]
    if choice:
        return [choice]
    return ["sqlite", "postgresql"] if pg_url else ["sqlite"]


def run(argv: list[str] | None = None) -> list[Result]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="10000,1000000", help="human_task rows, comma separated")
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="")
    parser.add_argument("--runs", type=int, default=5, help="ticks measured per size (after one warm-up)")
    parser.add_argument("--due", type=int, default=1000, help="tasks due for an alert per tick")
    parser.add_argument("--timers", type=int, default=20, help="real instances whose timer is due per tick")
    parser.add_argument("--explain", action="store_true", help="print the plans of the scheduler's queries")
    args = parser.parse_args(argv)
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",")]
    pg_url = os.environ.get("JORNADA_TEST_PG_URL")
    results: list[Result] = []
    for db in databases(args.db, pg_url):
        if db == "postgresql" and not pg_url:
            raise SystemExit("--db postgresql needs JORNADA_TEST_PG_URL (an admin URL, e.g. .../postgres)")
        mine = measure(db, pg_url, sizes, due=args.due, timers=args.timers, runs=args.runs, explain=args.explain)
        results.extend(mine)
        for result in mine:
            print(
                f"{db:10} {result.rows:>9,} rows: tick {result.tick_ms:8.1f} ms ({result.alerts} alerts, "
                f"{result.timers} timers), {result.statements_per_alert:.3f} statements per alert "
                f"(filled in {result.fill_seconds:.1f} s)",
                flush=True,
            )
        if len(mine) >= 2:
            small, large = mine[0], mine[-1]
            ratio = large.tick_ms / small.tick_ms
            verdict = "OK" if ratio <= GOAL else "OVER"
            print(
                f"{db:10} tick at {large.rows:,} ÷ tick at {small.rows:,} rows = {ratio:.2f} "
                f"(goal <= {GOAL}) {verdict}",
                flush=True,
            )
    return results


if __name__ == "__main__":
    run()
