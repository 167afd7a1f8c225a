"""The scheduler reads only the work still to do: the sweep claims its tasks through the partial indexes of the tasks
not yet alerted, in a constant number of statements per batch; the timer query skips instances in incident."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, select

from engine import FrozenClock, Runtime, Store
from engine import _alerts as alerts
from engine import _audit as audit
from engine.models import Alert, AuditEvent, Outbox, ProcessInstance, Timer
from tests.bpmn_builder import flow, linear, process


@contextmanager
def statements(store: Store) -> Iterator[list[tuple[str, Any]]]:
    """Every SQL statement sent on ``store``'s engine inside the block, with its parameters."""
    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        sent.append((statement, parameters))

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(store.engine, "before_cursor_execute", record)


def started(runtime: Runtime, count: int) -> None:
    for n in range(count):
        runtime.start("lin", actor="a", customer_id=f"C-{n % 10}")


def sweep(runtime: Runtime) -> list[int]:
    """The sweep alone (no outbox drain after it)."""
    return alerts.sweep(runtime.store, runtime.clock.now(), runtime.config)


@pytest.fixture
def lin(runtime: Runtime) -> Runtime:
    runtime.deploy({"l.bpmn": linear("lin", 1, group="support")}, actor="d")
    return runtime


def test_a_sweep_sends_the_same_few_statements_for_forty_alerts_as_for_four(lin: Runtime, clock: FrozenClock) -> None:
    started(lin, 4)
    clock.advance(days=1, minutes=1)  # past warn
    with statements(lin.store) as few:
        assert len(sweep(lin)) == 4
    started(lin, 40)
    clock.advance(days=1, minutes=1)  # the 40 new tasks past warn; the first 4 not yet stuck
    with statements(lin.store) as many:
        assert len(sweep(lin)) == 40
    assert len(many) <= 3 * 40 + 10, [s for s, _ in many]
    assert len(many) == len(few)  # a constant per batch, nothing per alert


def test_each_alert_of_a_batch_has_its_row_its_mail_and_its_audit_event_in_a_chain_that_verifies(
    lin: Runtime, clock: FrozenClock
) -> None:
    started(lin, 6)
    clock.advance(days=3, minutes=1)  # past warn and stuck: a behind and a stuck alert on each task
    raised = sweep(lin)
    with lin.store.session() as s:
        rows = s.execute(select(Alert).order_by(Alert.id)).scalars().all()
        events = s.execute(select(AuditEvent).where(AuditEvent.action == "alert_raised")).scalars().all()
        mails = s.execute(select(Outbox.recipient, Outbox.subject)).all()
        verified = audit.verify(s)
    assert raised == [a.id for a in rows] and len(raised) == 12
    assert [a.level for a in rows] == ["behind"] * 6 + ["stuck"] * 6
    payloads = [json.loads(e.payload) for e in events]
    assert [(p["alert"], p["level"], p["task"]) for p in payloads] == [(a.id, a.level, a.human_task_id) for a in rows]
    assert all(p["channels"] == ["mail"] and p["name"] == "Step 1" for p in payloads)
    assert [e.instance_id for e in events] == [a.instance_id for a in rows]
    assert len(mails) == 12 and {to for to, _ in mails} == {"support@jornada.example"}
    assert sorted(subject.split(":")[0] for _, subject in mails) == ["[Jornada] behind"] * 6 + ["[Jornada] stuck"] * 6
    assert verified.ok, verified


def test_a_batch_after_events_appended_elsewhere_links_to_the_moved_head(
    lin: Runtime, clock: FrozenClock, database_url: str
) -> None:
    started(lin, 2)
    clock.advance(days=1, minutes=1)
    assert len(sweep(lin)) == 2  # this connection's head hint is now the sweep's last event
    other = Store(database_url)  # another process appends meanwhile
    with other.unit() as unit:
        session = unit.session
        audit.append(session, at=clock.now(), actor="x", action="note", payload={})
    other.dispose()
    clock.advance(days=2)
    assert len(sweep(lin)) == 2
    with lin.store.session() as s:
        assert audit.verify(s).ok


def test_every_statement_of_the_sweep_reads_human_task_only_through_its_pending_index_or_primary_key(
    lin: Runtime, clock: FrozenClock
) -> None:
    # an already-alerted backlog of open tasks, as in production: with a handful of rows every open-task index costs
    # the same and PostgreSQL's choice among them is a coin toss; with the backlog the pending index is the cheap one
    started(lin, 60)
    clock.advance(days=3, minutes=1)
    assert len(sweep(lin)) == 120
    started(lin, 3)
    clock.advance(days=3, minutes=1)
    with statements(lin.store) as sent:
        assert len(sweep(lin)) == 6
    reading = [
        (sql, params) for sql, params in sent if "human_task" in sql and sql.lstrip()[:6] in ("SELECT", "UPDATE")
    ]
    assert reading
    plans = [line for sql, params in reading for line in plan(lin.store, sql, params) if reads_task(line)]
    allowed = ("ix_human_task_behind_pending", "ix_human_task_stuck_pending", "INTEGER PRIMARY KEY", "human_task_pkey")
    assert plans and all(any(name in line for name in allowed) for line in plans), plans
    assert not [line for line in plans if "TEMP B-TREE" in line or "Seq Scan" in line], plans


def reads_task(line: str) -> bool:
    """Whether a plan line reads human_task (SQLite: SCAN/SEARCH; PostgreSQL: a scan node). A PostgreSQL "Bitmap Heap
    Scan" fetches the rows its child "Bitmap Index Scan on <index>" found: that child line is the one judged."""
    if "Bitmap Heap Scan" in line:
        return False
    return "human_task" in line and any(word in line for word in ("SCAN", "SEARCH", "Scan"))


def plan(store: Store, sql: str, params: Any) -> list[str]:
    """The plan lines of ``sql``: EXPLAIN QUERY PLAN on SQLite; EXPLAIN on PostgreSQL with sequential scans off,
    so a tiny table shows the index the query can use rather than a scan that is cheaper at that size."""
    with store.engine.connect() as conn:
        if store.is_postgres:
            conn.exec_driver_sql("ANALYZE human_task")  # the planner sees the rows the test made
            conn.exec_driver_sql("SET enable_seqscan = off")
            lines = [row[0] for row in conn.exec_driver_sql("EXPLAIN " + sql, params)]
        else:
            lines = [row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, tuple(params))]
        conn.rollback()
    return lines


def test_the_timer_query_walks_the_due_at_index_and_probes_each_instance_by_key(
    runtime: Runtime, clock: FrozenClock
) -> None:
    runtime.deploy({"w.bpmn": WAIT_ONLY}, actor="d")
    runtime.start("wait_only", actor="a", customer_id="C-1")
    clock.advance(hours=31)
    with statements(runtime.store) as sent:
        assert runtime.fire_due_timers() == 1
    [(sql, params)] = [(sql, params) for sql, params in sent if sql.lstrip().startswith("SELECT timer.instance_id")]
    lines = " | ".join(plan(runtime.store, sql, params))
    assert "ix_timer_due_at" in lines, lines
    if not runtime.store.is_postgres:  # PostgreSQL joins by its statistics (at scale: a probe of the primary key)
        assert "SEARCH instance USING INDEX sqlite_autoindex_process_instance_1 (id=?)" in lines, lines


# start -> fork -> (timer P1D -> end) and (script that fails -> end): the instance is in incident with a timer row
SPLIT = process(
    "split",
    '<bpmn:startEvent id="start"/><bpmn:parallelGateway id="fork"/>'
    '<bpmn:intermediateCatchEvent id="remind" name="Remind"><bpmn:timerEventDefinition>'
    "<bpmn:timeDuration>P1D</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"
    '<bpmn:scriptTask id="score" name="Score" scriptFormat="python"><bpmn:script>x = 1 / broken</bpmn:script>'
    '</bpmn:scriptTask><bpmn:endEvent id="end_a"/><bpmn:endEvent id="end_b"/>'
    + flow("f1", "start", "fork")
    + flow("f2", "fork", "remind")
    + flow("f3", "remind", "end_a")
    + flow("f4", "fork", "score")
    + flow("f5", "score", "end_b"),
)
WAIT_ONLY = process(
    "wait_only",
    '<bpmn:startEvent id="start"/><bpmn:intermediateCatchEvent id="pause" name="Pause"><bpmn:timerEventDefinition>'
    "<bpmn:timeDuration>PT30H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"
    '<bpmn:endEvent id="end"/>' + flow("f1", "start", "pause") + flow("f2", "pause", "end"),
)


def status(runtime: Runtime, instance_id: str) -> str:
    with runtime.store.session() as s:
        found = s.get(ProcessInstance, instance_id)
        assert found is not None
        return found.status


def test_timers_of_instances_in_incident_neither_block_the_due_ones_nor_are_loaded_each_tick(
    runtime: Runtime, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime.deploy({"s.bpmn": SPLIT, "w.bpmn": WAIT_ONLY}, actor="d")
    failed = [runtime.start("split", actor="a", customer_id=f"C-{n}") for n in range(3)]
    assert [status(runtime, iid) for iid in failed] == ["incident"] * 3
    waiting = runtime.start("wait_only", actor="a", customer_id="C-5")
    with runtime.store.session() as s:  # the failed instances' timers come due first, and stay
        assert len(s.execute(select(Timer).where(Timer.instance_id.in_(failed))).all()) == 3
    clock.advance(hours=31)
    loaded: list[str] = []
    load = runtime._load

    def loading(u: Any, instance_id: str, actor: str) -> Any:
        loaded.append(instance_id)
        return load(u, instance_id, actor)

    monkeypatch.setattr(runtime, "_load", loading)
    assert runtime.fire_due_timers(limit=2) == 1  # the three earlier incident timers take no place in the two
    assert status(runtime, waiting) == "completed"
    assert loaded == [waiting]
    assert runtime.fire_due_timers() == 0 and loaded == [waiting]


def test_a_retried_instance_fires_its_timer_that_came_due_during_the_incident(
    runtime: Runtime, clock: FrozenClock
) -> None:
    runtime.deploy({"s.bpmn": SPLIT}, actor="d")
    iid = runtime.start("split", actor="a", customer_id="C-1")
    clock.advance(days=2)
    assert runtime.fire_due_timers() == 0
    assert runtime.retry(iid, actor="lea", reason="variable supplied", data={"broken": 1}) in ("waiting", "completed")
    if status(runtime, iid) != "completed":
        assert runtime.fire_due_timers() == 1
    assert status(runtime, iid) == "completed"
    with runtime.store.session() as s:
        fired = s.execute(select(AuditEvent.action).where(AuditEvent.instance_id == iid)).scalars().all()
    assert "incident_raised" in fired and "instance_completed" in fired


def test_a_sweep_raises_every_due_alert_in_batches_of_its_limit(lin: Runtime, clock: FrozenClock) -> None:
    started(lin, 7)
    clock.advance(days=1, minutes=1)
    assert len(alerts.sweep(lin.store, clock.now(), lin.config, limit=3)) == 7  # batches of 3, 3, 1
    assert alerts.sweep(lin.store, clock.now(), lin.config, limit=3) == []
    clock.advance(timedelta(days=2))
    assert len(alerts.sweep(lin.store, clock.now(), lin.config, limit=3)) == 7
