"""Nothing lost: every failure leaves the instance in ``incident`` with a reason, its failed step in error, and a
retry that works once the cause is fixed; no operation loops for ever, jams a task or misreports a wait."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine import FormValidationError, FrozenClock, InvalidState, Runtime, Store
from engine._outbox import LogTransport
from engine._sandbox import Sandbox
from engine.models import AuditEvent, Timer
from processes import build_registry
from tests.bpmn_builder import flow, process, user_task
from tests.engine.helpers import WAIT, instance, open_tasks, timers


def timer_process(process_id: str, expression: str) -> bytes:
    """start -> intermediate timer (``expression``) -> user task -> end."""
    return process(
        process_id,
        '<bpmn:startEvent id="start"/><bpmn:intermediateCatchEvent id="pause" name="Pause">'
        f"<bpmn:timerEventDefinition><bpmn:timeDuration>{expression}</bpmn:timeDuration></bpmn:timerEventDefinition>"
        "</bpmn:intermediateCatchEvent>"
        + user_task("after", "After the pause")
        + '<bpmn:endEvent id="end"/>'
        + flow("f1", "start", "pause")
        + flow("f2", "pause", "after")
        + flow("f3", "after", "end"),
    )


def actions(runtime: Runtime, iid: str) -> list[str]:
    with runtime.store.session() as s:
        query = select(AuditEvent.action).where(AuditEvent.instance_id == iid).order_by(AuditEvent.seq)
        return list(s.execute(query).scalars())


def assert_incident(runtime: Runtime, iid: str, *words: str) -> str:
    """The instance shows an incident naming ``words``, with an incident_raised event and no timer row."""
    row = instance(runtime, iid)
    assert row.status == "incident", (row.status, row.incident)
    assert row.incident and all(word in row.incident for word in words), row.incident
    assert "incident_raised" in actions(runtime, iid)
    return row.incident


# -- 1. a timer whose expression fails --------------------------------------------------------------------------
def test_a_timer_on_a_missing_variable_is_an_incident_retried_with_the_variable(
    runtime: Runtime, clock: FrozenClock
) -> None:
    runtime.deploy({"w.bpmn": WAIT}, actor="d")
    iid = runtime.start("wait", actor="a", customer_id="C-1")
    assert_incident(runtime, iid, "pause", "delay")
    assert timers(runtime) == []
    assert runtime.instance_view(iid).markers["pause"] == "incident"

    assert runtime.retry(iid, actor="lea", reason="delay supplied", data={"delay": "P2D"}) == "waiting"
    assert instance(runtime, iid).incident is None
    assert timers(runtime) == [("pause", (clock.now() + timedelta(days=2)).isoformat())]
    clock.advance(days=2, seconds=1)
    assert runtime.fire_due_timers() == 1
    assert [t.element_id for t in open_tasks(runtime, iid)] == ["after"]


def test_a_retry_that_fails_again_stays_an_incident(runtime: Runtime) -> None:
    runtime.deploy({"w.bpmn": WAIT}, actor="d")
    iid = runtime.start("wait", actor="a", customer_id="C-1")
    assert runtime.retry(iid, actor="lea", reason="try again") == "incident"
    assert_incident(runtime, iid, "pause", "delay")
    assert actions(runtime, iid).count("incident_raised") == 2


@pytest.mark.parametrize(
    ("expression", "data", "words"),
    [
        # read from the data at run time, so deploy cannot check it; the library raises a bare Exception
        ("duration", {"duration": "P3X"}, ("pause", "Invalid duration")),
        ("'x' * 10**9", {}, ("pause", "size limit")),  # a memory bomb, stopped by the sandbox
    ],
)
def test_a_timer_expression_that_fails_is_an_incident(
    runtime: Runtime, expression: str, data: dict, words: tuple
) -> None:
    runtime.deploy({"t.bpmn": timer_process("t", expression)}, actor="d")
    iid = runtime.start("t", actor="a", customer_id="C-1", data=data)
    assert_incident(runtime, iid, *words)
    assert timers(runtime) == []


def test_a_timer_expression_over_its_time_budget_is_an_incident(runtime: Runtime) -> None:
    slow = "sum(1 for i in range(9000000) for j in range(9000000))"
    runtime.deploy({"t.bpmn": timer_process("t", slow)}, actor="d")
    iid = runtime.start("t", actor="a", customer_id="C-1")
    assert_incident(runtime, iid, "pause", "budget")


def test_a_timer_reached_after_a_human_task_fails_into_an_incident(runtime: Runtime, clock: FrozenClock) -> None:
    body = (
        '<bpmn:startEvent id="start"/>'
        + user_task("first", "First")
        + '<bpmn:intermediateCatchEvent id="pause"><bpmn:timerEventDefinition>'
        "<bpmn:timeDuration>delay</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"
        + user_task("after", "After")
        + '<bpmn:endEvent id="end"/>'
        + flow("f1", "start", "first")
        + flow("f2", "first", "pause")
        + flow("f3", "pause", "after")
        + flow("f4", "after", "end")
    )
    runtime.deploy({"h.bpmn": process("h", body)}, actor="d")
    iid = runtime.start("h", actor="a", customer_id="C-1")
    [task] = open_tasks(runtime, iid)
    assert runtime.complete(task.id, actor="bob") == "incident"
    assert_incident(runtime, iid, "pause", "delay")
    assert open_tasks(runtime, iid) == []
    assert runtime.retry(iid, actor="lea", data={"delay": "PT1H"}) == "waiting"
    clock.advance(hours=1, seconds=1)
    assert runtime.fire_due_timers() == 1
    assert [t.element_id for t in open_tasks(runtime, iid)] == ["after"]


def test_a_timer_reached_when_an_earlier_timer_fires_fails_into_an_incident(
    runtime: Runtime, clock: FrozenClock
) -> None:
    body = (
        '<bpmn:startEvent id="start"/>'
        '<bpmn:intermediateCatchEvent id="first"><bpmn:timerEventDefinition>'
        "<bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"
        '<bpmn:intermediateCatchEvent id="second"><bpmn:timerEventDefinition>'
        "<bpmn:timeDuration>delay</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"
        + user_task("after", "After")
        + '<bpmn:endEvent id="end"/>'
        + flow("f1", "start", "first")
        + flow("f2", "first", "second")
        + flow("f3", "second", "after")
        + flow("f4", "after", "end")
    )
    runtime.deploy({"tt.bpmn": process("tt", body)}, actor="d")
    iid = runtime.start("tt", actor="a", customer_id="C-1")
    assert instance(runtime, iid).status == "waiting"
    clock.advance(hours=1, seconds=1)
    assert runtime.fire_due_timers() == 1
    assert_incident(runtime, iid, "second", "delay")
    assert timers(runtime) == []
    assert runtime.retry(iid, actor="lea", data={"delay": "PT1H"}) == "waiting"
    assert [element for element, _ in timers(runtime)] == ["second"]


def test_retry_is_refused_for_an_instance_without_incident(runtime: Runtime) -> None:
    runtime.deploy({"w.bpmn": WAIT}, actor="d")
    iid = runtime.start("wait", actor="a", customer_id="C-1", data={"delay": "P1D"})
    with pytest.raises(InvalidState, match="no incident to retry"):
        runtime.retry(iid, actor="lea")


# -- 2. a data output the completion does not supply -----------------------------------------------------------
def data_output_process(fields: str) -> bytes:
    task = user_task("decide", "Decide", fields=fields).replace(
        "</bpmn:userTask>",
        '<bpmn:dataOutputAssociation id="out"><bpmn:targetRef>verdict_ref</bpmn:targetRef>'
        "</bpmn:dataOutputAssociation></bpmn:userTask>",
    )
    body = (
        '<bpmn:startEvent id="start"/>'
        + task
        + '<bpmn:dataObject id="verdict"/><bpmn:dataObjectReference id="verdict_ref" dataObjectRef="verdict"/>'
        + user_task("next", "Next")
        + '<bpmn:endEvent id="end"/>'
        + flow("f1", "start", "decide")
        + flow("f2", "decide", "next")
        + flow("f3", "next", "end")
    )
    return process("d", body)


def test_a_data_output_the_caller_can_supply_is_refused_naming_it_and_nothing_changes(runtime: Runtime) -> None:
    optional = '<camunda:formField id="verdict" label="Verdict" type="string"/>'
    runtime.deploy({"d.bpmn": data_output_process(optional)}, actor="d")
    iid = runtime.start("d", actor="a", customer_id="C-1")
    [task] = open_tasks(runtime, iid)
    with pytest.raises(FormValidationError) as refused:
        runtime.complete(task.id, actor="bob", data={})
    assert [e.field for e in refused.value.errors] == ["verdict"]
    assert "Decide" in str(refused.value) and "data output 'verdict'" in str(refused.value)
    assert [t.element_id for t in open_tasks(runtime, iid)] == ["decide"]
    assert runtime.complete(task.id, actor="bob", data={"verdict": "yes"}) == "running"
    assert [t.element_id for t in open_tasks(runtime, iid)] == ["next"]


def test_a_data_output_the_form_cannot_supply_is_an_incident_retried_with_the_value(runtime: Runtime) -> None:
    other = '<camunda:formField id="note" label="Note" type="string"/>'
    runtime.deploy({"d.bpmn": data_output_process(other)}, actor="d")
    iid = runtime.start("d", actor="a", customer_id="C-1")
    [task] = open_tasks(runtime, iid)
    assert runtime.complete(task.id, actor="bob", data={"note": "done"}) == "incident"
    assert_incident(runtime, iid, "decide", "'verdict'")
    assert open_tasks(runtime, iid) == []
    assert runtime.retry(iid, actor="lea", data={"verdict": "yes"}) == "running"
    assert [t.element_id for t in open_tasks(runtime, iid)] == ["next"]


# -- 3. recursion and endless loops ----------------------------------------------------------------------------
@pytest.fixture
def few_steps(store: Store, clock: FrozenClock, config: dict, sandbox: Sandbox) -> Iterator[Runtime]:
    limited = {**config, "engine": {"max_steps_per_operation": 40}}
    rt = Runtime(store, build_registry(), clock=clock, config=limited, transport=LogTransport(), sandbox=sandbox)
    yield rt
    rt.close()


ENDLESS = process(
    "endless",
    '<bpmn:startEvent id="start"/><bpmn:exclusiveGateway id="again"/>'
    '<bpmn:exclusiveGateway id="check" default="out"/><bpmn:endEvent id="end"/>'
    + flow("f1", "start", "again")
    + flow("f2", "again", "check")
    + flow("back", "check", "again", "True")
    + flow("out", "check", "end"),
)


def test_an_endless_loop_stops_at_the_step_limit_as_an_incident(few_steps: Runtime) -> None:
    few_steps.deploy({"e.bpmn": ENDLESS}, actor="d")
    iid = few_steps.start("endless", actor="a", customer_id="C-1")
    reason = assert_incident(few_steps, iid, "more than 40 engine steps", "max_steps_per_operation")
    assert "again" in reason or "check" in reason
    assert few_steps.retry(iid, actor="lea") == "incident"  # the model is still wrong: stopped again


def test_the_step_limit_does_not_stop_a_process_within_it(few_steps: Runtime) -> None:
    few_steps.deploy({"w.bpmn": WAIT}, actor="d")
    iid = few_steps.start("wait", actor="a", customer_id="C-1", data={"delay": "P1D"})
    assert instance(few_steps, iid).status == "waiting"


# -- 4. a message thrown without a payload ---------------------------------------------------------------------
MESSAGES = '<bpmn:message id="m_ping" name="ping"/>\n'


def test_a_message_thrown_without_a_payload_sends_an_empty_one(runtime: Runtime) -> None:
    thrower = process(
        "thrower",
        '<bpmn:startEvent id="start"/><bpmn:intermediateThrowEvent id="send">'
        '<bpmn:messageEventDefinition messageRef="m_ping"/></bpmn:intermediateThrowEvent><bpmn:endEvent id="end"/>'
        + flow("f1", "start", "send")
        + flow("f2", "send", "end"),
        MESSAGES,
    )
    catcher = process(
        "catcher",
        '<bpmn:startEvent id="start"/><bpmn:intermediateCatchEvent id="wait">'
        '<bpmn:messageEventDefinition messageRef="m_ping"/></bpmn:intermediateCatchEvent>'
        + user_task("then", "Then")
        + '<bpmn:endEvent id="end"/>'
        + flow("f1", "start", "wait")
        + flow("f2", "wait", "then")
        + flow("f3", "then", "end"),
        MESSAGES,
    )
    runtime.deploy({"thrower.bpmn": thrower, "catcher.bpmn": catcher}, actor="d")
    waiting = runtime.start("catcher", actor="a", customer_id="C-1")
    assert instance(runtime, waiting).status == "waiting"
    sender = runtime.start("thrower", actor="a", customer_id="C-1")
    assert instance(runtime, sender).status == "completed"
    assert [t.element_id for t in open_tasks(runtime, waiting)] == ["then"]
    with runtime.store.session() as s:
        received = s.execute(
            select(AuditEvent.payload).where(AuditEvent.action == "message_received", AuditEvent.instance_id == waiting)
        ).scalar_one()
    assert json.loads(received)["payload"] == {}


# -- 5. waiting inside a sub-process ---------------------------------------------------------------------------
def test_an_instance_waiting_on_a_receive_task_inside_a_sub_process_is_waiting(runtime: Runtime) -> None:
    body = (
        '<bpmn:startEvent id="start"/><bpmn:subProcess id="sub">'
        '<bpmn:startEvent id="sub_start"/><bpmn:receiveTask id="hear" messageRef="m_ping"/>'
        '<bpmn:endEvent id="sub_end"/>'
        + flow("s1", "sub_start", "hear")
        + flow("s2", "hear", "sub_end")
        + '</bpmn:subProcess><bpmn:endEvent id="end"/>'
        + flow("f1", "start", "sub")
        + flow("f2", "sub", "end")
    )
    runtime.deploy({"r.bpmn": process("r", body, MESSAGES)}, actor="d")
    iid = runtime.start("r", actor="a", customer_id="C-1")
    row = instance(runtime, iid)
    assert (row.status, row.waiting_messages) == ("waiting", ",ping,")
    assert runtime.send_message("ping", {}, actor="crm", customer_id="C-1") == [iid]
    assert instance(runtime, iid).status == "completed"


def test_an_instance_with_a_ready_human_task_inside_a_sub_process_is_running(runtime: Runtime) -> None:
    body = (
        '<bpmn:startEvent id="start"/><bpmn:subProcess id="sub"><bpmn:startEvent id="sub_start"/>'
        + user_task("inner", "Inner")
        + '<bpmn:endEvent id="sub_end"/>'
        + flow("s1", "sub_start", "inner")
        + flow("s2", "inner", "sub_end")
        + '</bpmn:subProcess><bpmn:endEvent id="end"/>'
        + flow("f1", "start", "sub")
        + flow("f2", "sub", "end")
    )
    runtime.deploy({"u.bpmn": process("u", body)}, actor="d")
    iid = runtime.start("u", actor="a", customer_id="C-1")
    assert instance(runtime, iid).status == "running"


def test_timer_rows_follow_an_incident_then_its_retry(runtime: Runtime, clock: FrozenClock) -> None:
    runtime.deploy({"w.bpmn": WAIT}, actor="d")
    iid = runtime.start("wait", actor="a", customer_id="C-1")
    with runtime.store.session() as s:
        assert s.execute(select(Timer).where(Timer.instance_id == iid)).first() is None
    runtime.retry(iid, actor="lea", data={"delay": "PT5M"})
    with runtime.store.session() as s:
        assert s.execute(select(Timer.element_id).where(Timer.instance_id == iid)).scalars().all() == ["pause"]


def test_skipping_a_step_that_cannot_complete_is_refused_and_changes_nothing(runtime: Runtime) -> None:
    other = '<camunda:formField id="note" label="Note" type="string"/>'
    runtime.deploy({"d.bpmn": data_output_process(other)}, actor="d")
    iid = runtime.start("d", actor="a", customer_id="C-1")
    [task] = open_tasks(runtime, iid)
    runtime.complete(task.id, actor="bob", data={"note": "done"})
    before = (instance(runtime, iid).version, actions(runtime, iid))
    with pytest.raises(InvalidState, match="step 'decide' cannot be skipped: completing it fails too"):
        runtime.skip(iid, "decide", actor="lea", reason="move on")
    assert (instance(runtime, iid).version, actions(runtime, iid)) == before
    assert instance(runtime, iid).status == "incident"
