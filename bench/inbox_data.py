"""The data set of bench/inbox_scale.py: plain rows in bulk for the inbox's tables, no engine operation.

A fresh database of each kind (SQLite: a file in a temp dir; PostgreSQL: a database created for the run and dropped
after it) gets the schema from the models, then: process definitions and a few thousand instances of the shipped
processes, 2,000 customers, 42 people in 10 groups, the task rows (ids in time order: closed history over two
years, most open tasks among the newest rows, a tenth old stragglers; due dates past, future or none;
priorities; ready, claimed, completed, cancelled), their group rows and the open tasks' ``open_task_group`` rows.
SQLite: executemany in big batches; PostgreSQL: COPY, then VACUUM ANALYZE (SQLite gets no ANALYZE: the app never
runs one). The task tables' secondary indexes are dropped for the load and built after it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
OPEN_SHARE = 0.14
BACKLOG = 1400
STAFF, LEAD, PASSWORD = "bench-staff", "bench-lead", "bench-password-1"
STAFF_GROUPS = ("csm", "onboarding", "support")
GROUPS = ("csm", "support", "trainer", "finance", "security", "cs_lead", "onboarding", "billing", "success", "it")
CUSTOMERS = 2000
CHUNK = 50_000
PRIORITIES = (10, 30, 50, 50, 50, 50, 70, 90)
# process id -> (name, its user tasks: element id, name, candidate groups)
PROCESSES: dict[str, tuple[str, tuple[tuple[str, str, str], ...]]] = {
    "sign_up": ("Sign-up", (("sign_contract", "Sign contract", "csm"), ("configure", "Configure account", "it"))),
    "welcome": ("Welcome", (("kickoff", "Hold kickoff meeting", "csm,onboarding"), ("intro", "Send intro", "csm"))),
    "training": ("Training", (("schedule", "Schedule session", "trainer"), ("hold", "Hold session", "trainer"))),
    "quick_wins": ("Quick wins", (("goals", "Agree goals", "csm,success"), ("first_win", "Confirm first win", "csm"))),
    "support": (
        "Support ticket",
        (("triage", "Triage ticket", "support"), ("respond", "Respond", "support"), ("resolve", "Resolve", "support")),
    ),
    "expansion": ("Expansion", (("proposal", "Send proposal", "csm,success"), ("outcome", "Record outcome", "csm"))),
    "collections": ("Collections", (("remind", "Remind", "finance,billing"), ("escalate", "Escalate", "cs_lead"))),
    "access_revocation": ("Access revocation", (("revoke", "Revoke access", "security,it"),)),
    "renewal": ("Renewal", (("review", "Review renewal", "csm"), ("approve", "Approve discount", "cs_lead"))),
}


# -- the data set --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Plan:
    shape: str
    size: int
    open_count: int

    @classmethod
    def of(cls, shape: str, size: int, backlog: int) -> Plan:
        wanted = round(OPEN_SHARE * size) if shape == "share" else backlog
        return cls(shape, size, min(size, wanted))


def stamp(seconds: float) -> str:
    """Seconds since the epoch as SQLAlchemy stores a UTCDateTime on SQLite (PostgreSQL reads it in UTC)."""
    return time.strftime("%Y-%m-%d %H:%M:%S.000000", time.gmtime(int(seconds)))


@dataclass
class People:
    """The staff (bulk rows) and who belongs to which group; the staff member and the lead who sign in are added
    through ``web.accounts.users.add_user`` afterwards."""

    members: dict[str, list[str]] = field(default_factory=dict)
    staff: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)

    @classmethod
    def make(cls) -> People:
        people = cls({g: [] for g in GROUPS})
        for n in range(40):
            groups = (GROUPS[n % 10], GROUPS[(n + 3) % 10]) + ((GROUPS[(n + 7) % 10],) if n % 4 == 0 else ())
            people.staff.append((f"user{n:02d}", groups))
        for username, groups in [*people.staff, (STAFF, STAFF_GROUPS), (LEAD, ("cs_lead",))]:
            for group in groups:
                people.members[group].append(username)
        return people


class DataSet:
    """The rows of every table, generated in chunks from a seeded random source."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.rng = random.Random(f"{plan.shape}-{plan.size}")
        self.people = People.make()
        self.process_ids = list(PROCESSES)
        self.instance_count = max(50, min(5000, plan.size // 50))

    def definitions(self) -> list[tuple[Any, ...]]:
        deployed = stamp(NOW.timestamp() - 800 * 86400)
        return [
            (
                n,
                pid,
                1,
                name,
                f"{pid}.bpmn",
                "<definitions/>",
                hashlib.sha256(pid.encode()).hexdigest(),
                "bench",
                deployed,
            )
            for n, (pid, (name, _tasks)) in enumerate(PROCESSES.items(), start=1)
        ]

    def customers(self) -> list[tuple[Any, ...]]:
        created = stamp(NOW.timestamp() - 900 * 86400)
        return [
            (f"C{n:05d}", f"Customer {n}", "smb", "standard", 100.0, "USD", "active", created) for n in range(CUSTOMERS)
        ]

    def instances(self) -> list[tuple[Any, ...]]:
        rng, rows = self.rng, []
        start = NOW.timestamp() - 730 * 86400
        for n in range(self.instance_count):
            number = n % len(self.process_ids)
            pid = self.process_ids[number]
            started = stamp(start + n * 730 * 86400 / self.instance_count)
            customer = f"C{rng.randrange(CUSTOMERS):05d}"
            rows.append(
                (f"i-{n:06d}", number + 1, pid, "[]", customer, "running", "{}", "", "3.0", 1, "bench", started)
            )
        return rows

    def staff(self, password_hash: str) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        created = stamp(NOW.timestamp() - 900 * 86400)
        users: list[tuple[Any, ...]] = []
        groups: list[tuple[Any, ...]] = []
        for n, (username, member_of) in enumerate(self.people.staff, start=1):
            users.append((n, username, f"User {n}", f"{username}@example.com", password_hash, "staff", True, created))
            groups.extend((n, group) for group in member_of)
        return users, groups

    def _open_positions(self) -> set[int]:
        """Most open tasks are among the newest rows (twice the backlog); a tenth are old stragglers."""
        size, count = self.plan.size, self.plan.open_count
        tail = min(size, 2 * count)
        old = min(size - tail, count - round(0.9 * count))
        return set(self.rng.sample(range(size - tail, size), count - old)) | set(
            self.rng.sample(range(size - tail), old)
        )

    def tasks(self) -> Iterator[list[tuple[Any, ...]]]:
        """human_task rows (columns TASK_COLUMNS), in id order, a chunk at a time."""
        rng, size, members = self.rng, self.plan.size, self.people.members
        opened = self._open_positions()
        tail = min(size, 2 * self.plan.open_count)
        now = NOW.timestamp()
        history_start, recent_start = now - 730 * 86400, now - 30 * 86400
        instances = [(f"i-{n:06d}", n % len(self.process_ids)) for n in range(self.instance_count)]
        customers = [f"C{n:05d}" for n in range(CUSTOMERS)]
        chunk: list[tuple[Any, ...]] = []
        for i in range(size):
            if i < size - tail:
                created = history_start + (recent_start - history_start) * i / (size - tail)
            else:
                created = recent_start + (now - 3600 - recent_start) * (i - (size - tail)) / tail
            instance, number = instances[rng.randrange(len(instances))]
            pid = self.process_ids[number]
            element, name, groups = rng.choice(PROCESSES[pid][1])
            due = warn = stuck = None
            if rng.random() < 0.8:
                span = rng.uniform(1, 10) * 86400
                due, warn, stuck = created + span, created + 0.6 * span, created + span + 2 * 86400
            member = rng.choice(members[rng.choice(groups.split(","))])
            claimed = completed = completed_by = behind = stuck_mark = None
            if i in opened:
                state = "claimed" if rng.random() < 0.4 else "ready"
                assignee = member if state == "claimed" else None
                claimed = created + rng.uniform(0.1, 24) * 3600 if state == "claimed" else None
                behind = warn if warn is not None and warn <= now else None
                stuck_mark = stuck if stuck is not None and stuck <= now else None
            elif rng.random() < 0.9:
                state, assignee = "completed", member
                claimed = created + rng.uniform(0.1, 24) * 3600
                completed, completed_by = claimed + rng.uniform(0.1, 72) * 3600, member
            else:
                state, assignee = "cancelled", None
            chunk.append(
                (
                    i + 1,
                    instance,
                    f"t-{i + 1}",
                    element,
                    name,
                    pid,
                    rng.choice(customers),
                    groups,
                    assignee,
                    rng.choice(PRIORITIES),
                    state,
                    stamp(created),
                    *(None if moment is None else stamp(moment) for moment in (claimed, completed)),
                    completed_by,
                    *(None if moment is None else stamp(moment) for moment in (due, warn, stuck, behind, stuck_mark)),
                )
            )
            if len(chunk) >= CHUNK:
                yield chunk
                chunk = []
        if chunk:
            yield chunk


TASK_COLUMNS = (
    "id",
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
OPEN_STATES = ("ready", "claimed")


def open_group_columns() -> tuple[str, ...]:
    """The columns of open_task_group as the model has them today (it copies the task's sort keys)."""
    from engine.models import OpenTaskGroup, core

    columns = tuple(column.name for column in core(OpenTaskGroup).columns)
    unknown = [c for c in columns if c not in ("group_name", "human_task_id") and c not in TASK_COLUMNS]
    if unknown:
        raise SystemExit(f"open_task_group has columns the bench cannot fill from a task: {', '.join(unknown)}")
    return columns


def group_rows(tasks: Sequence[tuple[Any, ...]], open_columns: Sequence[str]) -> tuple[list[Any], list[Any]]:
    """human_task_group rows for every task, open_task_group rows for the open ones."""
    at = {name: n for n, name in enumerate(TASK_COLUMNS)}
    groups_at, state_at = at["candidate_groups"], at["state"]
    picks = [None if c in ("group_name", "human_task_id") else at[c] for c in open_columns]
    memberships: list[Any] = []
    opened: list[Any] = []
    for task in tasks:
        for group in task[groups_at].split(","):
            memberships.append((task[0], group))
            if task[state_at] in OPEN_STATES:
                by_name = {"group_name": group, "human_task_id": task[0]}
                opened.append(
                    tuple(by_name[c] if n is None else task[n] for c, n in zip(open_columns, picks, strict=True))
                )
    return memberships, opened


# -- loading -------------------------------------------------------------------------------------------------------
BULK_TABLES = ("human_task", "human_task_group", "open_task_group")
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "process_definition": (
        "id",
        "process_id",
        "version",
        "name",
        "file_name",
        "bpmn_xml",
        "sha256",
        "deployed_by",
        "deployed_at",
    ),
    "customer": ("id", "name", "segment", "plan", "mrr", "currency", "stage", "created_at"),
    "process_instance": (
        "id",
        "definition_id",
        "process_id",
        "called_definitions",
        "customer_id",
        "status",
        "state_json",
        "waiting_messages",
        "serializer_version",
        "version",
        "started_by",
        "started_at",
    ),
    "app_user": ("id", "username", "display_name", "email", "password_hash", "roles", "active", "created_at"),
    "app_user_group": ("user_id", "group_name"),
    "human_task": TASK_COLUMNS,
    "human_task_group": ("human_task_id", "group_name"),
}


class Loader:
    """Plain rows into one table at a time, through the store's DBAPI connection, in one transaction."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.postgres = engine.dialect.name == "postgresql"
        self.raw = engine.raw_connection()
        self.counts: dict[str, int] = {}

    def __enter__(self) -> Loader:
        cursor = self.raw.cursor()
        if self.postgres:  # no FK triggers while loading (the rows are consistent by construction); times in UTC
            cursor.execute("SET session_replication_role = replica")
            cursor.execute("SET TIME ZONE 'UTC'")
        else:
            cursor.execute("PRAGMA foreign_keys=OFF")
            cursor.execute("BEGIN")
        cursor.close()
        return self

    def __exit__(self, kind: Any, *_rest: Any) -> None:
        cursor = self.raw.cursor()
        if self.postgres:
            self.raw.commit() if kind is None else self.raw.rollback()
            cursor.execute("SET session_replication_role = DEFAULT")
            self.raw.commit()
        else:
            cursor.execute("COMMIT" if kind is None else "ROLLBACK")
            cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
        self.raw.close()  # back to the pool as the store configured it

    def load(self, table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> None:
        rows = list(rows)
        cursor = self.raw.cursor()
        names = ", ".join(columns)
        if self.postgres:
            with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" for _ in columns)
            cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)
        cursor.close()
        self.counts[table] = self.counts.get(table, 0) + len(rows)


def check_columns(metadata: Any, columns: dict[str, tuple[str, ...]]) -> None:
    """Every NOT NULL column without a server default is filled: a model change shows here, not as a bad row."""
    for table, filled in columns.items():
        missing = [
            c.name
            for c in metadata.tables[table].columns
            if not c.nullable and c.server_default is None and c.name not in filled
        ]
        if missing:
            raise SystemExit(f"{table}: the bench does not fill the required column(s) {', '.join(missing)}")


@dataclass
class Built:
    plan: Plan
    seconds: float
    counts: dict[str, int]


def build(store: Any, plan: Plan) -> Built:
    """The schema from the models, then the data set in bulk; the task tables' indexes after the load."""
    import processes  # noqa: F401  (the CS tables join the metadata)
    import web.models  # noqa: F401  (the web tables join the metadata)
    from engine.models import Base

    began = time.perf_counter()
    store.create_schema()
    metadata = Base.metadata
    open_columns = open_group_columns()
    check_columns(metadata, {**TABLE_COLUMNS, "open_task_group": open_columns})
    indexes = [index for name in BULK_TABLES for index in metadata.tables[name].indexes]
    for index in indexes:
        index.drop(store.engine)
    data = DataSet(plan)
    password_hash = "bench-no-password"  # the staff in bulk never sign in
    users, memberships = data.staff(password_hash)
    with Loader(store.engine) as loader:
        loader.load("process_definition", TABLE_COLUMNS["process_definition"], data.definitions())
        loader.load("customer", TABLE_COLUMNS["customer"], data.customers())
        loader.load("process_instance", TABLE_COLUMNS["process_instance"], data.instances())
        loader.load("app_user", TABLE_COLUMNS["app_user"], users)
        loader.load("app_user_group", TABLE_COLUMNS["app_user_group"], memberships)
        for chunk in data.tasks():
            task_groups, open_groups = group_rows(chunk, open_columns)
            loader.load("human_task", TASK_COLUMNS, chunk)
            loader.load("human_task_group", TABLE_COLUMNS["human_task_group"], task_groups)
            loader.load("open_task_group", open_columns, open_groups)
    for index in indexes:
        index.create(store.engine)
    if store.is_postgres:
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            # the next ids after the bulk rows (add_user and the engine take them from the sequences)
            conn.exec_driver_sql("SELECT setval(pg_get_serial_sequence('app_user', 'id'), 1000)")
            conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('human_task', 'id'), {plan.size + 1})")
            conn.exec_driver_sql(f"VACUUM ANALYZE {', '.join([*TABLE_COLUMNS, 'open_task_group'])}")
    return Built(plan, time.perf_counter() - began, loader.counts)


# -- databases -----------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def database(kind: str, pg_url: str | None, label: str) -> Iterator[str]:
    """A fresh, empty database of ``kind``: its URL; removed afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="inbox-scale-") as folder:
            yield f"sqlite:///{Path(folder) / 'bench.db'}"
        return
    from sqlalchemy import create_engine

    assert pg_url
    name = f"jornada_bench_{os.getpid()}_{label}"
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            yield pg_url.rsplit("/", 1)[0] + f"/{name}"
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()
