"""Two sessions on one task, and a restart on the same database."""

from __future__ import annotations

import contextlib
import threading

import pytest
from sqlalchemy import select

from engine import ConflictError, FrozenClock, Runtime, Store
from engine import _forms as forms
from engine.models import AuditEvent, HumanTask, ProcessInstance, TaskKpi
from processes import build_registry
from tests.bpmn_builder import linear
from tests.engine.helpers import instance, open_tasks


def test_two_sessions_completing_the_same_task_one_wins_one_gets_a_conflict(
    runtime: Runtime, database_url: str, clock: FrozenClock, config: dict, sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime.deploy({"l.bpmn": linear("lin", 2)}, actor="designer")
    iid = runtime.start("lin", actor="alice", customer_id="C-1")
    [task] = open_tasks(runtime, iid)
    # Both sessions load the instance before either saves (where the database lets them: SQLite queues writers
    # at BEGIN, so there the barrier times out and the second session sees the first one's commit).
    barrier = threading.Barrier(2)
    validate = forms.validate

    def validate_together(spec, data):  # type: ignore[no-untyped-def]
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=2)
        return validate(spec, data)

    monkeypatch.setattr(forms, "validate", validate_together)
    results: dict[str, object] = {}

    def worker(name: str) -> None:
        rt = Runtime(Store(database_url), build_registry(), clock=clock, config=config, sandbox=sandbox)
        try:
            results[name] = rt.complete(task.id, actor=name, data={"note": name})
        except Exception as exc:
            results[name] = exc
        finally:
            rt.close()

    threads = [threading.Thread(target=worker, args=(name,)) for name in ("bob", "carol")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    winners = [n for n, r in results.items() if r == "running"]
    losers = [r for r in results.values() if isinstance(r, ConflictError)]
    assert len(winners) == 1 and len(losers) == 1, results
    # the instance is consistent: exactly one completion, one KPI row, and the next step open once
    [next_task] = open_tasks(runtime, iid)
    assert next_task.element_id == "t2"
    with runtime.store.session() as s:
        assert len(s.execute(select(TaskKpi)).scalars().all()) == 1
        completions = s.execute(select(AuditEvent).where(AuditEvent.action == "task_completed")).scalars().all()
        assert [e.actor for e in completions] == winners
        done = s.get(HumanTask, task.id)
        assert done is not None and done.completed_by == winners[0]


def test_a_fresh_engine_on_the_same_database_lists_the_same_tasks_and_finishes_every_instance(
    runtime: Runtime, database_url: str, clock: FrozenClock, config: dict, sandbox
) -> None:
    runtime.deploy({"l.bpmn": linear("lin", 3)}, actor="designer")
    ids = [runtime.start("lin", actor="alice", customer_id=f"C-{n}") for n in range(4)]
    for n, iid in enumerate(ids):  # instance n has n steps done
        for _ in range(min(n, 3)):
            [task] = open_tasks(runtime, iid)
            runtime.complete(task.id, actor="bob")
    before = sorted((t.instance_id, t.element_id) for iid in ids for t in open_tasks(runtime, iid))
    runtime.close()

    restarted = Runtime(Store(database_url), build_registry(), clock=clock, config=config, sandbox=sandbox)
    after = sorted((t.instance_id, t.element_id) for iid in ids for t in open_tasks(restarted, iid))
    assert after == before
    for iid in ids:
        while open_tasks(restarted, iid):
            restarted.complete(open_tasks(restarted, iid)[0].id, actor="dora")
        assert instance(restarted, iid).status == "completed"
    with restarted.store.session() as s:
        assert set(s.execute(select(ProcessInstance.status)).scalars()) == {"completed"}
    restarted.close()


def test_an_engine_never_acts_on_a_workflow_another_engine_has_moved_on(
    runtime: Runtime, database_url: str, clock: FrozenClock, config: dict, sandbox
) -> None:
    other = Runtime(Store(database_url), build_registry(), clock=clock, config=config, sandbox=sandbox)
    runtime.deploy({"l.bpmn": linear("lin", 3)}, actor="designer")
    iid = runtime.start("lin", actor="alice", customer_id="C-1")
    runtime.complete(open_tasks(runtime, iid)[0].id, actor="bob")  # `runtime` now holds this instance in memory
    other.complete(open_tasks(other, iid)[0].id, actor="carol")  # ...which `other` moves on
    [third] = open_tasks(runtime, iid)
    assert third.element_id == "t3"
    assert runtime.complete(third.id, actor="bob") == "completed"
    other.close()


def test_an_open_read_session_does_not_block_a_write(runtime: Runtime) -> None:
    runtime.deploy({"l.bpmn": linear("lin", 1)}, actor="designer")
    with runtime.store.session() as reading:
        before = reading.execute(select(ProcessInstance.id)).all()  # a read transaction is now open
        iid = runtime.start("lin", actor="alice", customer_id="C-1")  # would wait on SQLite if reads locked
    assert before == []
    assert instance(runtime, iid).status == "running"  # at its user task


def test_writers_from_several_threads_and_engines_all_commit(
    runtime: Runtime, database_url: str, clock: FrozenClock, config: dict, sandbox
) -> None:
    runtime.deploy({"l.bpmn": linear("lin", 1)}, actor="designer")
    failures: list[BaseException] = []

    def worker(n: int) -> None:
        rt = Runtime(Store(database_url), build_registry(), clock=clock, config=config, sandbox=sandbox)
        try:
            for i in range(8):
                rt.start("lin", actor=f"w{n}", customer_id=f"C-{n}-{i}")
        except BaseException as exc:  # reported below
            failures.append(exc)
        finally:
            rt.store.dispose()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not failures
    with runtime.store.session() as s:
        assert len(s.execute(select(ProcessInstance.id)).all()) == 32


def test_the_instance_record_is_the_process_instance_row_column_for_column() -> None:
    """One record of an instance: the Core-read dataclass the engine writes through has exactly the model's columns."""
    from dataclasses import fields

    from engine._execution import InstanceRecord

    assert [f.name for f in fields(InstanceRecord)] == [c.name for c in ProcessInstance.__table__.columns]
