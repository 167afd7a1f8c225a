"""An alert closes when its task leaves the open states: completed, skipped, or cancelled (by a boundary timer, a
cancelled instance). The operation that closes the task resolves the alert in its own transaction, audited."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from engine import FrozenClock, InvalidState, Runtime
from engine import _alerts as engine_alerts
from engine import _audit as audit
from engine._cli import alert_state
from engine.models import Alert, AuditEvent, HumanTask
from processes.customers import Customer, create_customer
from tests.bpmn_builder import linear
from tests.engine.helpers import DEADLINE, open_tasks


def alerts(runtime: Runtime) -> list[Alert]:
    with runtime.store.session() as s:
        return list(s.execute(select(Alert).order_by(Alert.id)).scalars())


def resolved_events(runtime: Runtime) -> list[tuple[str, dict[str, Any]]]:
    with runtime.store.session() as s:
        events = s.execute(
            select(AuditEvent).where(AuditEvent.action == "alert_resolved").order_by(AuditEvent.seq)
        ).scalars()
        return [(e.actor, json.loads(e.payload)) for e in events]


def actions(runtime: Runtime) -> list[str]:
    with runtime.store.session() as s:
        return list(s.execute(select(AuditEvent.action).order_by(AuditEvent.seq)).scalars())


def chain_ok(runtime: Runtime) -> bool:
    with runtime.store.session() as s:
        return audit.verify(s).ok


def start(runtime: Runtime, process_id: str, customer: str) -> str:
    """Start ``process_id`` for ``customer``, put on file first if it is not."""
    with runtime.unit() as u:
        if u.session.get(Customer, customer) is None:
            create_customer(u.session, customer, f"Customer {customer}", now=u.now)
    return runtime.start(process_id, actor="a", customer_id=customer)


def started_past_warn(runtime: Runtime, clock: FrozenClock, customer: str = "C-1") -> tuple[str, HumanTask, int]:
    """An instance of a one-step process whose step is past its warn threshold: one "behind" alert."""
    iid = start(runtime, "lin", customer)
    [task] = open_tasks(runtime, iid)
    clock.advance(days=1, minutes=1)
    [alert_id] = runtime.sweep_stuck_steps()
    return iid, task, alert_id


@pytest.fixture
def lin(runtime: Runtime) -> Runtime:
    runtime.deploy({"l.bpmn": linear("lin", 1)}, actor="d")
    return runtime


def test_completing_the_task_resolves_its_alert_and_audits_it(lin: Runtime, clock: FrozenClock) -> None:
    _iid, task, alert_id = started_past_warn(lin, clock)
    clock.advance(hours=2)
    lin.complete(task.id, actor="bob", data={"note": "done"})
    [alert] = alerts(lin)
    assert (alert.id, alert.resolved_at, alert.resolved_by, alert.resolution) == (
        alert_id,
        clock.now(),
        "bob",
        "task_completed",
    )
    assert alert.acknowledged_at is None
    [(actor, payload)] = resolved_events(lin)
    assert actor == "bob"
    assert payload["alert"] == alert_id and payload["task"] == task.id and payload["level"] == "behind"
    assert payload["before"] == {"resolved_at": None, "resolved_by": None, "resolution": None}
    assert payload["after"] == {
        "resolved_at": clock.now().isoformat(),
        "resolved_by": "bob",
        "resolution": "task_completed",
    }
    assert actions(lin)[-3:] == ["task_completed", "alert_resolved", "instance_completed"]
    assert chain_ok(lin)


def test_every_level_of_the_task_is_resolved_and_only_that_task(lin: Runtime, clock: FrozenClock) -> None:
    first, second = start(lin, "lin", "C-1"), start(lin, "lin", "C-2")
    clock.advance(days=3, minutes=1)  # past warn and stuck: behind + stuck on both tasks
    assert len(lin.sweep_stuck_steps()) == 4
    [task] = open_tasks(lin, first)
    lin.complete(task.id, actor="bob", data={"note": "done"})
    by_task = {(a.human_task_id, a.level): a.resolution for a in alerts(lin)}
    [other] = open_tasks(lin, second)
    assert by_task == {
        (task.id, "behind"): "task_completed",
        (task.id, "stuck"): "task_completed",
        (other.id, "behind"): None,
        (other.id, "stuck"): None,
    }
    assert [p["level"] for _, p in resolved_events(lin)] == ["behind", "stuck"]


def test_a_task_never_alerted_is_closed_without_looking_for_alerts(
    lin: Runtime, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    looked: list[list[int]] = []
    resolve = engine_alerts.resolve
    monkeypatch.setattr(engine_alerts, "resolve", lambda conn, tasks, **kw: looked.append([t.id for t in tasks]))
    [task] = open_tasks(lin, start(lin, "lin", "C-1"))
    lin.complete(task.id, actor="bob", data={"note": "done"})
    lin.cancel(start(lin, "lin", "C-2"), actor="lea", reason="not needed")
    assert looked == []
    monkeypatch.setattr(engine_alerts, "resolve", resolve)
    assert alerts(lin) == [] and resolved_events(lin) == []


def test_cancelling_the_instance_resolves_the_alert_as_cancelled(lin: Runtime, clock: FrozenClock) -> None:
    iid, _task, alert_id = started_past_warn(lin, clock)
    lin.cancel(iid, actor="lea", reason="customer left")
    [alert] = alerts(lin)
    assert (alert.resolution, alert.resolved_by, alert.resolved_at) == ("task_cancelled", "lea", clock.now())
    [(actor, payload)] = resolved_events(lin)
    assert (actor, payload["alert"], payload["after"]["resolution"]) == ("lea", alert_id, "task_cancelled")
    assert chain_ok(lin)


def test_an_interrupting_boundary_timer_cancelling_the_task_resolves_its_alert(
    runtime: Runtime, clock: FrozenClock
) -> None:
    runtime.deploy({"d.bpmn": DEADLINE}, actor="d")
    iid = start(runtime, "deadline", "C-1")
    clock.advance(days=1, minutes=1)
    [alert_id] = runtime.sweep_stuck_steps()
    clock.advance(days=1)
    assert runtime.fire_due_timers() == 1
    assert [t.element_id for t in open_tasks(runtime, iid)] == ["escalate"]
    [alert] = alerts(runtime)
    assert (alert.id, alert.resolution, alert.resolved_by) == (alert_id, "task_cancelled", "system")
    assert [(actor, p["name"]) for actor, p in resolved_events(runtime)] == [("system", "Call customer")]


def test_skipping_the_task_resolves_its_alert_as_skipped(lin: Runtime, clock: FrozenClock) -> None:
    iid, _task, _ = started_past_warn(lin, clock)
    lin.skip(iid, "t1", actor="lea", reason="done by phone")
    [alert] = alerts(lin)
    assert (alert.resolution, alert.resolved_by) == ("task_skipped", "lea")
    assert actions(lin)[-3:] == ["step_skipped", "alert_resolved", "instance_completed"]


def test_an_acknowledged_alert_stays_acknowledged_and_is_resolved_too(lin: Runtime, clock: FrozenClock) -> None:
    _iid, task, alert_id = started_past_warn(lin, clock)
    lin.acknowledge_alert(alert_id, actor="lea")
    lin.complete(task.id, actor="bob", data={"note": "done"})
    [alert] = alerts(lin)
    assert (alert.acknowledged_by, alert.resolved_by, alert.resolution) == ("lea", "bob", "task_completed")
    [(_, payload)] = resolved_events(lin)
    assert payload["acknowledged_by"] == "lea"


def test_a_resolved_alert_is_not_acknowledged_afterwards(lin: Runtime, clock: FrozenClock) -> None:
    _iid, task, alert_id = started_past_warn(lin, clock)
    lin.complete(task.id, actor="bob", data={"note": "done"})
    with pytest.raises(InvalidState, match=rf"alert {alert_id} is already resolved \(task_completed\)"):
        lin.acknowledge_alert(alert_id, actor="lea")
    assert alerts(lin)[0].acknowledged_by is None


def test_a_later_sweep_raises_nothing_for_the_closed_task(lin: Runtime, clock: FrozenClock) -> None:
    _iid, task, _ = started_past_warn(lin, clock)
    lin.complete(task.id, actor="bob", data={"note": "done"})
    clock.advance(days=10)
    assert lin.sweep_stuck_steps() == []
    assert [a.resolution for a in alerts(lin)] == ["task_completed"]


def test_the_cli_names_open_acknowledged_and_resolved_alerts(lin: Runtime, clock: FrozenClock) -> None:
    _, task, alert_id = started_past_warn(lin, clock)
    assert alert_state(alerts(lin)[0]) == "open"
    lin.acknowledge_alert(alert_id, actor="lea")
    assert alert_state(alerts(lin)[0]) == "ack by lea"
    lin.complete(task.id, actor="bob", data={"note": "done"})
    assert alert_state(alerts(lin)[0]) == (
        f"resolved (task_completed) by bob at {clock.now():%Y-%m-%d %H:%M}, ack by lea"
    )


def test_the_migration_resolves_the_alerts_of_tasks_closed_before_it(lin: Runtime, clock: FrozenClock) -> None:
    import importlib.util

    from sqlalchemy import text, update

    path = Path(__file__).resolve().parents[2] / "migrations" / "versions" / "0003_customer_success_tables.py"
    spec = importlib.util.spec_from_file_location("migration_0003", path)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    _, done, _ = started_past_warn(lin, clock, "C-1")
    _, still_open, _ = started_past_warn(lin, clock, "C-2")
    lin.complete(done.id, actor="bob", data={"note": "done"})
    with lin.store.engine.begin() as conn:  # as the data stood before the revision: nothing resolved
        conn.execute(update(Alert).values(resolved_at=None, resolved_by=None, resolution=None))
        conn.execute(text(migration.RESOLVE_CLOSED_TASK_ALERTS))
    found = {(a.human_task_id, a.resolved_by, a.resolution, a.resolved_at) for a in alerts(lin)}
    assert found == {(done.id, "migration", "task_completed", clock.now()), (still_open.id, None, None, None)}
