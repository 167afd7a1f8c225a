"""What the task-completion hot path relies on: the audit head hint, the SQLite statement shortcuts (writes, and the
one-row read every API request starts with), the SQLite
timestamp text, the SQLite settings in the URL, and one transaction for Core and ORM work in a unit."""

from __future__ import annotations

import contextlib
import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy.exc
from sqlalchemy import bindparam, func, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.types import TypeDecorator

from engine import FrozenClock, Runtime, Store
from engine import _audit as audit
from engine._dml import Prepared, PreparedRead
from engine._handlers import HandlerContext, HandlerError
from engine._store import sqlite_settings
from engine.models import AuditEvent, Outbox, ProcessInstance, TaskKpi, UTCDateTime, core
from processes import build_registry
from tests.bpmn_builder import flow, linear, process
from tests.engine.helpers import open_tasks

MOMENT = datetime(2025, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)


def kpi_row(human_task_id: int) -> dict[str, object]:
    return {
        "human_task_id": human_task_id,
        "instance_id": "i-1",
        "process_id": "p",
        "element_id": "e",
        "name": "n",
        "completed_by": "bob",
        "created_at": MOMENT,
        "claimed_at": MOMENT,
        "completed_at": MOMENT,
        "due_at": None,
        "wait_seconds": 0.0,
        "work_seconds": 0.0,
        "cycle_seconds": 0.0,
        "sla_met": None,
        "warn_reached": False,
        "stuck_reached": True,
    }


def verify(runtime: Runtime) -> audit.Verification:
    with runtime.store.session() as s:
        return audit.verify(s)


# -- the audit head ------------------------------------------------------------------------------------------
def test_the_chain_stays_whole_when_engines_take_turns_and_an_append_is_rolled_back(
    runtime: Runtime, database_url: str, clock: FrozenClock, config: dict, sandbox
) -> None:
    other = Runtime(Store(database_url), build_registry(), clock=clock, config=config, sandbox=sandbox)
    runtime.deploy({"l.bpmn": linear("lin", 4)}, actor="designer")
    iid = runtime.start("lin", actor="alice", customer_id="C-1")
    # `runtime`'s connection last moved the head; an append it rolls back leaves that hint pointing nowhere
    with pytest.raises(RuntimeError), runtime.unit() as u:
        audit.append(u.conn, at=u.now, actor="alice", action="probe_rolled_back")
        raise RuntimeError("undo")
    other.complete(open_tasks(other, iid)[0].id, actor="carol")  # ...and the other engine moves the head on
    runtime.complete(open_tasks(runtime, iid)[0].id, actor="bob")
    other.complete(open_tasks(other, iid)[0].id, actor="carol")
    runtime.complete(open_tasks(runtime, iid)[0].id, actor="bob")
    other.close()
    result = verify(runtime)
    assert result.ok, result
    with runtime.store.session() as s:
        actions = list(s.execute(select(AuditEvent.action).order_by(AuditEvent.seq)).scalars())
    assert "probe_rolled_back" not in actions and actions.count("task_completed") == 4


def test_an_append_undone_with_its_savepoint_is_not_linked_to(runtime: Runtime) -> None:
    with runtime.unit() as u:
        audit.append(u.conn, at=u.now, actor="a", action="kept_before")
        with pytest.raises(RuntimeError), u.savepoint():
            audit.append(u.conn, at=u.now, actor="a", action="undone")
            raise RuntimeError("undo the savepoint")
        audit.append(u.conn, at=u.now, actor="a", action="kept_after")
    with runtime.store.session() as s:
        assert list(s.execute(select(AuditEvent.action).order_by(AuditEvent.seq)).scalars()) == [
            "kept_before",
            "kept_after",
        ]
    assert verify(runtime).ok


# -- one transaction ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("fails", [False, True])
def test_orm_and_core_writes_of_a_unit_commit_or_roll_back_together(runtime: Runtime, fails: bool) -> None:
    with pytest.raises(RuntimeError) if fails else contextlib.nullcontext(), runtime.unit() as u:
        u.session.add(Outbox(kind="mail", recipient="r@x", subject="s", body="b", created_at=u.now))
        audit.append(u.conn, at=u.now, actor="a", action="probe")
        if fails:
            raise RuntimeError("undo")
    with runtime.store.session() as s:
        outbox = s.execute(select(Outbox.recipient)).scalars().all()
        events = s.execute(select(AuditEvent.action)).scalars().all()
    assert (outbox, events) == (([], []) if fails else (["r@x"], ["probe"]))


# -- Prepared statements ------------------------------------------------------------------------------------
def test_a_prepared_insert_keeps_sqlalchemy_errors_so_a_duplicate_is_a_conflict(store: Store) -> None:
    insert = Prepared(core(TaskKpi).insert())
    with store.engine.begin() as conn:
        insert.run(conn, kpi_row(7))
    with pytest.raises(sqlalchemy.exc.IntegrityError), store.engine.begin() as conn:
        insert.run(conn, kpi_row(7))
    with store.session() as s:
        [row] = s.execute(select(TaskKpi)).scalars().all()
    assert (row.completed_at, row.sla_met, row.stuck_reached) == (MOMENT, None, True)


def test_a_prepared_statement_leaves_python_side_defaults_to_sqlalchemy(store: Store) -> None:
    insert = Prepared(core(Outbox).insert().returning(core(Outbox).c.id))
    with store.engine.begin() as conn:  # no ``attempts``: its default (0) is computed in Python
        row_id = insert.run_returning(
            conn, {"kind": "mail", "recipient": "r", "subject": "s", "body": "b", "created_at": MOMENT}
        )
        insert.run_many(
            conn, [{"kind": "mail", "recipient": r, "subject": "s", "body": "b", "created_at": MOMENT} for r in "xy"]
        )
    with store.session() as s:
        rows = s.execute(select(Outbox).order_by(Outbox.id)).scalars().all()
    assert [(r.recipient, r.attempts, r.created_at) for r in rows] == [(n, 0, MOMENT) for n in ("r", "x", "y")]
    assert rows[0].id == row_id


OUTBOX = core(Outbox)
# aggregate_strings: a separator SQLAlchemy renders only at execution, which a PreparedRead renders once
RECIPIENTS_OF_KIND = PreparedRead(
    select(OUTBOX.c.kind, func.count(), func.aggregate_strings(OUTBOX.c.recipient, ","))
    .where(OUTBOX.c.kind == bindparam("kind"))
    .group_by(OUTBOX.c.kind)
)


def queue(conn: sqlalchemy.Connection, kind: str, *recipients: str) -> None:
    conn.execute(
        OUTBOX.insert(),
        [{"kind": kind, "recipient": r, "subject": "s", "body": "b", "created_at": MOMENT} for r in recipients],
    )


def test_a_prepared_read_answers_as_sqlalchemy_does(store: Store) -> None:
    with store.engine.begin() as conn:
        queue(conn, "mail", "r@x")
        queue(conn, "sms", "a", "b")
    for kind in ("mail", "sms", "none"):
        with store.engine.connect() as conn:
            expected = conn.execute(RECIPIENTS_OF_KIND.statement, {"kind": kind}).one_or_none()
        found = store.read_one(RECIPIENTS_OF_KIND, {"kind": kind})
        assert (tuple(found) if found else None) == (tuple(expected) if expected else None)
    assert tuple(store.read_one(RECIPIENTS_OF_KIND, {"kind": "mail"}) or ()) == ("mail", 1, "r@x")


def test_a_prepared_read_sees_committed_rows_only_and_refuses_two_rows(store: Store) -> None:
    by_recipient = PreparedRead(select(OUTBOX.c.id).where(OUTBOX.c.recipient == bindparam("to")))
    with store.engine.begin() as conn:
        queue(conn, "mail", "r@x")
        assert store.read_one(by_recipient, {"to": "r@x"}) is None  # not committed yet: another connection reads
    assert store.read_one(by_recipient, {"to": "r@x"}) is not None
    with store.engine.begin() as conn:
        queue(conn, "mail", "r@x")
    with pytest.raises(sqlalchemy.exc.MultipleResultsFound):
        store.read_one(by_recipient, {"to": "r@x"})


def test_a_prepared_read_of_a_column_that_needs_converting_converts_it(store: Store) -> None:
    created = PreparedRead(select(OUTBOX.c.created_at).where(OUTBOX.c.recipient == bindparam("to")))
    with store.engine.begin() as conn:
        queue(conn, "mail", "r@x")
    assert tuple(store.read_one(created, {"to": "r@x"}) or ()) == (MOMENT,)  # a datetime, as SQLAlchemy gives it


# -- SQLite: timestamps and settings -------------------------------------------------------------------------
def test_utc_timestamps_are_written_as_sqlalchemy_writes_them_on_sqlite() -> None:
    dialect = sqlite.dialect()
    impl = UTCDateTime()._gen_dialect_impl(dialect)
    fast, usual = impl.bind_processor(dialect), TypeDecorator.bind_processor(impl, dialect)
    for value in (
        MOMENT,
        MOMENT.replace(microsecond=0),
        MOMENT.astimezone(timezone(timedelta(hours=-7))),
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    ):
        assert fast(value) == usual(value)
    with pytest.raises(ValueError, match="naive"):
        fast(datetime(2025, 1, 1))


def test_sqlite_settings_come_from_the_url(tmp_path: Path) -> None:
    assert sqlite_settings({}) == {"synchronous": "NORMAL", "wal_autocheckpoint": "10000"}
    with pytest.raises(ValueError, match="synchronous=SOMETIMES"):
        sqlite_settings({"synchronous": "sometimes"})
    with pytest.raises(ValueError, match="wal_autocheckpoint=-1"):
        sqlite_settings({"wal_autocheckpoint": "-1"})
    store = Store(f"sqlite:///{tmp_path / 'x.db'}?synchronous=full&wal_autocheckpoint=500")
    with store.engine.connect() as conn:
        pragmas = [conn.exec_driver_sql(f"PRAGMA {name}").scalar() for name in ("synchronous", "wal_autocheckpoint")]
    store.dispose()
    assert pragmas == [2, 500 * 4]  # FULL; SQLite's own checkpoint is the safety net at 4x ours (engine/_wal.py)


def test_a_database_url_without_settings_gets_the_defaults(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'x.db'}")
    with store.engine.connect() as conn:
        pragmas = [conn.exec_driver_sql(f"PRAGMA {name}").scalar() for name in ("synchronous", "wal_autocheckpoint")]
    store.dispose()
    assert pragmas == [1, 40000]  # NORMAL; 4 x 10000


# -- WAL checkpoints, after the writers' lock is released --------------------------------------------------
def write_outbox_rows(store: Store, rows: int) -> None:
    with store.unit() as u:
        queue(u.conn, "mail", *(f"r{n}@x" for n in range(rows)))


def test_a_unit_that_fills_the_wal_checkpoints_it_once_the_writers_lock_is_released(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(f"sqlite:///{tmp_path / 'x.db'}?wal_autocheckpoint=40")
    store.create_schema()
    checkpointer = store._checkpoints
    assert checkpointer is not None
    held_while_checkpointing: list[int] = []
    checkpoint = checkpointer.checkpoint

    def watched() -> None:
        assert store._writers is not None
        held_while_checkpointing.append(getattr(store._writers._local, "depth", 0))
        checkpoint()

    monkeypatch.setattr(checkpointer, "checkpoint", watched)
    write_outbox_rows(store, 5)
    before = checkpointer.waiting_frames()
    assert before is not None and 0 < before < 40 and held_while_checkpointing == []
    units = 0
    while not held_while_checkpointing:
        write_outbox_rows(store, 200)  # several pages a unit
        units += 1
        assert units < 50, "no checkpoint"
    assert held_while_checkpointing == [0]  # this thread did not hold the writers' lock
    assert (checkpointer.waiting_frames() or 0) < 40  # copied into the database file
    with store.session() as s:
        assert len(s.execute(select(Outbox.id)).all()) == 5 + 200 * units  # nothing lost
    store.dispose()


def test_a_wal_autocheckpoint_of_zero_never_checkpoints(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'x.db'}?wal_autocheckpoint=0")
    store.create_schema()
    for _ in range(3):
        write_outbox_rows(store, 200)
    assert store._checkpoints is not None
    assert (store._checkpoints.waiting_frames() or 0) > 100
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
    store.dispose()


def test_two_stores_checkpointing_the_same_file_at_once_lose_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}?wal_autocheckpoint=20"
    first, second = Store(url), Store(url)
    first.create_schema()
    failures: list[BaseException] = []

    def write(store: Store) -> None:
        try:
            for _ in range(15):
                write_outbox_rows(store, 100)
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(store,)) for store in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with first.session() as s:
        assert len(s.execute(select(Outbox.id)).all()) == 2 * 15 * 100
    first.dispose()
    second.dispose()


# -- a service task's savepoint -----------------------------------------------------------------------------
def probe(ctx: HandlerContext) -> dict[str, object]:
    ctx.audit("probe_inside", {})  # Core, on the unit's connection
    ctx.session.add(Outbox(kind="mail", recipient="r@x", subject="s", body="b", created_at=ctx.now))  # ORM
    if ctx.data.get("fail"):
        raise HandlerError("the probe failed")
    return {"probed": True}


SERVICE = process(
    "svc",
    '<bpmn:startEvent id="start"/><bpmn:serviceTask id="call" camunda:type="external" camunda:topic="probe.run"/>'
    '<bpmn:endEvent id="end"/>' + flow("f1", "start", "call") + flow("f2", "call", "end"),
)


@pytest.mark.parametrize("fail", [False, True])
def test_a_failing_handler_leaves_none_of_its_writes(
    store: Store, clock: FrozenClock, config: dict, sandbox, fail: bool
) -> None:
    handlers = build_registry()
    handlers.register("probe.run", probe)
    runtime = Runtime(store, handlers, clock=clock, config=config, sandbox=sandbox, send_after_commit=False)
    runtime.deploy({"svc.bpmn": SERVICE}, actor="designer")
    iid = runtime.start("svc", actor="alice", customer_id="C-1", data={"fail": fail})
    with runtime.store.session() as s:
        actions = list(s.execute(select(AuditEvent.action).order_by(AuditEvent.seq)).scalars())
        outbox = s.execute(select(Outbox.recipient)).scalars().all()
        [state] = s.execute(select(ProcessInstance.status).where(ProcessInstance.id == iid)).scalars().all()
    if fail:
        assert state == "incident" and outbox == [] and "probe_inside" not in actions
        assert "service_task_completed" not in actions and "incident_raised" in actions
    else:
        assert state == "completed" and outbox == ["r@x"]
        assert actions.index("probe_inside") < actions.index("service_task_completed")
    assert verify(runtime).ok
