"""BPMN timers fire from the timer table on the injected clock; stuck steps raise alerts exactly once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine import FrozenClock, Runtime
from engine.models import Alert, AuditEvent, Outbox
from tests.bpmn_builder import flow, linear, process, user_task
from tests.engine.helpers import WAIT, instance, open_tasks, timers

BOUNDARY = process(
    "call_customer",
    '<bpmn:startEvent id="start"/>'
    + user_task("call", "Call customer", "csm")
    + '<bpmn:boundaryEvent id="remind" name="Remind" cancelActivity="false" attachedToRef="call">'
    "<bpmn:timerEventDefinition><bpmn:timeCycle>R2/P1D</bpmn:timeCycle></bpmn:timerEventDefinition>"
    "</bpmn:boundaryEvent>" + '<bpmn:boundaryEvent id="sla" name="SLA breached" attachedToRef="call">'
    "<bpmn:timerEventDefinition><bpmn:timeDuration>P3D</bpmn:timeDuration></bpmn:timerEventDefinition>"
    "</bpmn:boundaryEvent>"
    + user_task("remind_task", "Reminder sent", "csm")
    + user_task("escalate", "Escalate", "cs_lead")
    + '<bpmn:endEvent id="end"/><bpmn:endEvent id="end_remind"/><bpmn:endEvent id="end_esc"/>'
    + flow("f1", "start", "call")
    + flow("f2", "call", "end")
    + flow("f3", "remind", "remind_task")
    + flow("f4", "remind_task", "end_remind")
    + flow("f5", "sla", "escalate")
    + flow("f6", "escalate", "end_esc"),
)


def test_an_intermediate_timer_reads_its_duration_from_data_and_fires_only_when_due(
    runtime: Runtime, clock: FrozenClock
) -> None:
    runtime.deploy({"w.bpmn": WAIT}, actor="d")
    iid = runtime.start("wait", actor="a", customer_id="C-1", data={"delay": "P2D"})
    assert instance(runtime, iid).status == "waiting"
    assert timers(runtime) == [("pause", (clock.now() + timedelta(days=2)).isoformat())]
    clock.advance(days=1)
    assert runtime.fire_due_timers() == 0
    clock.advance(days=1, seconds=1)
    assert runtime.fire_due_timers() == 1
    assert [t.element_id for t in open_tasks(runtime, iid)] == ["after"]
    assert timers(runtime) == []


def test_a_non_interrupting_cycle_reminds_twice_and_the_interrupting_timer_escalates(
    runtime: Runtime, clock: FrozenClock
) -> None:
    runtime.deploy({"b.bpmn": BOUNDARY}, actor="d")
    iid = runtime.start("call_customer", actor="a", customer_id="C-1")
    for _ in range(2):
        clock.advance(days=1, seconds=1)
        assert runtime.fire_due_timers() == 1
    assert sorted(t.element_id for t in open_tasks(runtime, iid)) == ["call", "remind_task", "remind_task"]
    clock.advance(days=1)
    runtime.fire_due_timers()
    assert sorted(t.element_id for t in open_tasks(runtime, iid)) == ["escalate", "remind_task", "remind_task"]
    with runtime.store.session() as s:
        fired = s.execute(select(AuditEvent).where(AuditEvent.action == "timer_fired")).scalars().all()
    assert len(fired) == 3


def test_completing_the_task_before_its_timers_removes_them(runtime: Runtime, clock: FrozenClock) -> None:
    runtime.deploy({"b.bpmn": BOUNDARY}, actor="d")
    iid = runtime.start("call_customer", actor="a", customer_id="C-1")
    assert {e for e, _ in timers(runtime)} == {"remind", "sla"}
    [call] = open_tasks(runtime, iid)
    runtime.complete(call.id, actor="bob")
    assert timers(runtime) == []
    clock.advance(days=10)
    assert runtime.fire_due_timers() == 0
    assert instance(runtime, iid).status == "completed"


def test_a_task_past_warn_then_stuck_raises_behind_then_stuck_once_each_and_mails_its_group(
    runtime: Runtime, clock: FrozenClock, mail
) -> None:
    runtime.deploy({"l.bpmn": linear("lin", 1, group="support")}, actor="d")
    iid = runtime.start("lin", actor="a", customer_id="C-1")
    assert runtime.sweep_stuck_steps() == []
    clock.advance(days=1, minutes=1)  # past sla_warn P1D
    assert len(runtime.sweep_stuck_steps()) == 1
    assert runtime.sweep_stuck_steps() == []
    clock.advance(days=2)  # past sla_stuck P3D
    assert len(runtime.sweep_stuck_steps()) == 1
    assert runtime.sweep_stuck_steps() == []
    with runtime.store.session() as s:
        levels = s.execute(select(Alert.level).order_by(Alert.id)).scalars().all()
        unsent = s.execute(select(Outbox).where(Outbox.sent_at.is_(None))).scalars().all()
    assert levels == ["behind", "stuck"]
    assert unsent == []
    assert [(to, subject.split(":")[0]) for to, subject, _ in mail.sent] == [
        ("support@jornada.example", "[Jornada] behind"),
        ("support@jornada.example", "[Jornada] stuck"),
    ]
    [task] = open_tasks(runtime, iid)
    runtime.complete(task.id, actor="bob")
    clock.advance(days=30)
    assert runtime.sweep_stuck_steps() == []


def test_an_alert_is_acknowledged_once_and_audited(runtime: Runtime, clock: FrozenClock) -> None:
    import pytest

    from engine._errors import InvalidState

    runtime.deploy({"l.bpmn": linear("lin", 1)}, actor="d")
    runtime.start("lin", actor="a", customer_id="C-1")
    clock.advance(days=1, minutes=1)
    [alert_id] = runtime.sweep_stuck_steps()
    runtime.acknowledge_alert(alert_id, actor="lead")
    with pytest.raises(InvalidState, match="already acknowledged by lead"):
        runtime.acknowledge_alert(alert_id, actor="other")
    with runtime.store.session() as s:
        actions = s.execute(select(AuditEvent.action).order_by(AuditEvent.seq)).scalars().all()
    assert actions[-2:] == ["alert_raised", "alert_acknowledged"]
