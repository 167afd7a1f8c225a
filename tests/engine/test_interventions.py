"""A lead's interventions on one instance: skip a step, repeat a step; and what the instance viewer reads."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine import FormValidationError, FrozenClock, InvalidState, NotFound, Runtime
from engine.models import HumanTask, TaskKpi, Timer
from tests.bpmn_builder import flow, linear, process, user_task
from tests.engine.helpers import FAILING, events, instance, open_task, snapshot, tasks

CHILD = process(
    "child",
    '<bpmn:startEvent id="c_start"/>'
    + user_task("inner", "Inner step")
    + '<bpmn:endEvent id="c_end"/>'
    + flow("c1", "c_start", "inner")
    + flow("c2", "inner", "c_end"),
)
PARENT = process(
    "parent",
    '<bpmn:startEvent id="start"/>'
    + user_task("first", "First")
    + '<bpmn:callActivity id="call" name="Run child" calledElement="child"/>'
    + '<bpmn:endEvent id="end"/>'
    + flow("f1", "start", "first")
    + flow("f2", "first", "call")
    + flow("f3", "call", "end"),
)

REMINDED = process(
    "reminded",
    '<bpmn:startEvent id="start"/>'
    + user_task("call", "Call customer")
    + '<bpmn:boundaryEvent id="remind" attachedToRef="call" cancelActivity="false">'
    "<bpmn:timerEventDefinition><bpmn:timeDuration>P2D</bpmn:timeDuration></bpmn:timerEventDefinition>"
    "</bpmn:boundaryEvent>"
    + '<bpmn:endEvent id="reminded_end"/><bpmn:endEvent id="end"/>'
    + flow("f1", "start", "call")
    + flow("f2", "call", "end")
    + flow("f3", "remind", "reminded_end"),
)

REMINDED_LATER = process(
    "reminded_later",
    '<bpmn:startEvent id="start"/>'
    + user_task("prepare", "Prepare call")
    + user_task("call", "Call customer")
    + '<bpmn:boundaryEvent id="remind" attachedToRef="call" cancelActivity="false">'
    "<bpmn:timerEventDefinition><bpmn:timeDuration>P2D</bpmn:timeDuration></bpmn:timerEventDefinition>"
    "</bpmn:boundaryEvent>"
    + '<bpmn:endEvent id="reminded_end"/><bpmn:endEvent id="end"/>'
    + flow("f0", "start", "prepare")
    + flow("f1", "prepare", "call")
    + flow("f2", "call", "end")
    + flow("f3", "remind", "reminded_end"),
)


@pytest.fixture
def linear3(runtime: Runtime) -> str:
    runtime.deploy({"p.bpmn": linear("p", 3)}, actor="designer")
    return runtime.start("p", actor="sam", customer_id="C-1")


@pytest.fixture
def incident(runtime: Runtime) -> str:
    """An instance whose script step failed: 'health' is not in the data."""
    runtime.deploy({"scored.bpmn": FAILING}, actor="designer")
    iid = runtime.start("scored", actor="sam", customer_id="C-1")
    runtime.complete(open_task(runtime, iid, "enter").id, actor="sam")
    assert instance(runtime, iid).status == "incident"
    return iid


# -- skip ----------------------------------------------------------------------------------------------------
def test_skipping_a_ready_human_task_completes_it_without_its_form_and_marks_the_row_skipped(
    runtime: Runtime, linear3: str, clock: FrozenClock
) -> None:
    status = runtime.skip(linear3, "t1", actor="lea", reason="customer already onboarded")
    assert status == "running"
    assert tasks(runtime, linear3) == [("t1", "skipped", "lea"), ("t2", "ready", None)]
    with runtime.store.session() as s:
        assert s.execute(select(TaskKpi)).first() is None  # a skipped step is not work done
        skipped = s.execute(select(HumanTask).where(HumanTask.element_id == "t1")).scalar_one()
        assert skipped.completed_at == clock.now()
    [(actor, payload)] = events(runtime, linear3, "step_skipped")
    assert actor == "lea"
    assert payload == {
        "element": "t1",
        "name": "Step 1",
        "reason": "customer already onboarded",
        "tasks": [skipped.id],
        "before": {"state": "READY", "status": "running"},
        "after": {"state": "skipped"},
    }


def test_skipping_a_failed_step_clears_the_incident_and_moves_on(runtime: Runtime, incident: str) -> None:
    assert runtime.skip(incident, "score", actor="lea", reason="score computed by hand") == "running"
    row = instance(runtime, incident)
    assert (row.status, row.incident) == ("running", None)
    assert tasks(runtime, incident)[-1] == ("review", "ready", None)
    [(_, payload)] = events(runtime, incident, "step_skipped")
    assert payload["before"] == {"state": "ERROR", "status": "incident"}
    assert payload["tasks"] == []  # a script step has no inbox row


@pytest.mark.parametrize(
    ("element", "reason", "error", "message"),
    [
        ("t1", "  ", FormValidationError, "reason: a reason is required"),
        ("t3", "why", InvalidState, "step 't3' has not been reached yet: only a ready human task or a failed step"),
        ("nope", "why", NotFound, "element 'nope' is not part of process p"),
    ],
)
def test_a_refused_skip_names_the_problem_and_changes_nothing(
    runtime: Runtime, linear3: str, element: str, reason: str, error: type[Exception], message: str
) -> None:
    runtime.complete(open_task(runtime, linear3, "t1").id, actor="sam")
    before = snapshot(runtime, linear3)
    with pytest.raises(error, match=message):
        runtime.skip(linear3, element, actor="lea", reason=reason)
    assert snapshot(runtime, linear3) == before


def test_a_completed_step_cannot_be_skipped(runtime: Runtime, linear3: str) -> None:
    runtime.complete(open_task(runtime, linear3, "t1").id, actor="sam")
    before = snapshot(runtime, linear3)
    with pytest.raises(InvalidState, match="step 't1' is completed: only a ready human task or a failed step"):
        runtime.skip(linear3, "t1", actor="lea", reason="why")
    assert snapshot(runtime, linear3) == before


def test_a_finished_instance_cannot_be_changed(runtime: Runtime, linear3: str) -> None:
    runtime.cancel(linear3, actor="lea", reason="duplicate")
    before = snapshot(runtime, linear3)
    for operation in (runtime.skip, runtime.repeat):
        with pytest.raises(InvalidState, match="is cancelled; its steps can no longer be changed"):
            operation(linear3, "t1", actor="lea", reason="why")
    assert snapshot(runtime, linear3) == before


# -- repeat --------------------------------------------------------------------------------------------------
def test_repeating_a_completed_step_reopens_it_as_a_new_task_and_closes_what_followed(
    runtime: Runtime, linear3: str
) -> None:
    first = open_task(runtime, linear3, "t1")
    runtime.complete(first.id, actor="sam", data={"note": "first call"})
    assert runtime.repeat(linear3, "t1", actor="lea", reason="the call went wrong") == "running"
    assert tasks(runtime, linear3) == [("t1", "completed", "sam"), ("t2", "cancelled", None), ("t1", "ready", None)]
    again = open_task(runtime, linear3, "t1")
    assert again.task_id != first.task_id  # the repeated run is a task of its own
    [(actor, payload)] = events(runtime, linear3, "step_repeated")
    assert actor == "lea"
    assert payload == {
        "element": "t1",
        "name": "Step 1",
        "reason": "the call went wrong",
        "removed": payload["removed"],
        "before": {"state": "COMPLETED", "status": "running", "open": ["t2"]},
        "after": {"state": "READY", "open": ["t1"]},
    }
    assert payload["removed"] >= 1

    runtime.complete(again.id, actor="sam", data={"note": "second call"})  # the rerun counts as work of its own
    with runtime.store.session() as s:
        assert s.execute(select(func.count()).select_from(TaskKpi)).scalar() == 2
    assert tasks(runtime, linear3)[-1] == ("t2", "ready", None)
    assert runtime.instance_view(linear3).data["note"] == "second call"


def test_repeating_an_open_step_restarts_it_unclaimed(runtime: Runtime, linear3: str) -> None:
    runtime.claim(open_task(runtime, linear3, "t1").id, actor="sam")
    runtime.repeat(linear3, "t1", actor="lea", reason="sam is away")
    assert tasks(runtime, linear3) == [("t1", "cancelled", None), ("t1", "ready", None)]
    assert open_task(runtime, linear3, "t1").assignee is None


def test_repeating_an_earlier_step_clears_an_incident_after_it(runtime: Runtime, incident: str) -> None:
    assert runtime.repeat(incident, "enter", actor="lea", reason="health was not entered") == "running"
    row = instance(runtime, incident)
    assert (row.status, row.incident) == ("running", None)
    assert tasks(runtime, incident) == [("enter", "completed", "sam"), ("enter", "ready", None)]
    assert runtime.instance_view(incident).markers == {"start": "done", "enter": "active"}


def test_repeating_a_step_with_a_boundary_timer_sets_the_timer_again(runtime: Runtime, clock: FrozenClock) -> None:
    runtime.deploy({"reminded.bpmn": REMINDED}, actor="designer")
    iid = runtime.start("reminded", actor="sam")
    clock.advance(hours=24)
    runtime.repeat(iid, "call", actor="lea", reason="new contact person")
    with runtime.store.session() as s:
        [timer] = s.execute(select(Timer).where(Timer.instance_id == iid)).scalars()
    assert timer.element_id == "remind"
    assert abs((timer.due_at - clock.now()).total_seconds() - 2 * 86400) < 1  # two days from the repeat


def test_repeating_the_step_before_a_timer_drops_the_timer_until_the_step_is_done_again(
    runtime: Runtime, clock: FrozenClock
) -> None:
    runtime.deploy({"reminded.bpmn": REMINDED_LATER}, actor="designer")
    iid = runtime.start("reminded_later", actor="sam")
    runtime.complete(open_task(runtime, iid, "prepare").id, actor="sam")
    runtime.repeat(iid, "prepare", actor="lea", reason="prepared for the wrong product")
    assert events(runtime, iid, "incident_raised") == []
    assert instance(runtime, iid).status == "running"
    with runtime.store.session() as s:
        assert s.execute(select(Timer).where(Timer.instance_id == iid)).first() is None
    clock.advance(days=3)
    assert runtime.fire_due_timers() == 0
    runtime.complete(open_task(runtime, iid, "prepare").id, actor="sam")
    with runtime.store.session() as s:
        assert [t.element_id for t in s.execute(select(Timer).where(Timer.instance_id == iid)).scalars()] == ["remind"]


@pytest.mark.parametrize(
    ("element", "reason", "error", "message"),
    [
        ("t1", "", FormValidationError, "reason: a reason is required"),
        ("t3", "why", InvalidState, "step 't3' has not run in this instance yet"),
        ("start", "why", InvalidState, "'start' is an event or a gateway, not a step"),
        ("nope", "why", NotFound, "element 'nope' is not part of process p"),
    ],
)
def test_a_refused_repeat_names_the_problem_and_changes_nothing(
    runtime: Runtime, linear3: str, element: str, reason: str, error: type[Exception], message: str
) -> None:
    runtime.complete(open_task(runtime, linear3, "t1").id, actor="sam")
    before = snapshot(runtime, linear3)
    with pytest.raises(error, match=message):
        runtime.repeat(linear3, element, actor="lea", reason=reason)
    assert snapshot(runtime, linear3) == before


# -- what the viewer reads -----------------------------------------------------------------------------------
def test_markers_follow_the_task_tree(runtime: Runtime, linear3: str, incident: str) -> None:
    runtime.complete(open_task(runtime, linear3, "t1").id, actor="sam")
    view = runtime.instance_view(linear3)
    assert view.markers == {"start": "done", "t1": "done", "t2": "active"}
    assert [s.element_id for s in view.skippable] == ["t2"]
    assert [s.element_id for s in view.repeatable] == ["t1", "t2"]
    assert '<bpmn:process id="p"' in view.bpmn_xml
    failed = runtime.instance_view(incident)
    assert failed.markers == {"start": "done", "enter": "done", "score": "incident"}
    assert [(s.element_id, s.state) for s in failed.skippable] == [("score", "ERROR")]


def test_a_step_inside_a_called_process_is_drawn_on_the_call_activity(runtime: Runtime) -> None:
    runtime.deploy({"child.bpmn": CHILD, "parent.bpmn": PARENT}, actor="designer")
    iid = runtime.start("parent", actor="sam")
    runtime.complete(open_task(runtime, iid, "first").id, actor="sam")
    view = runtime.instance_view(iid)
    assert view.markers == {"start": "done", "first": "done", "call": "active"}
    assert [(s.element_id, s.process_id) for s in view.skippable] == [("inner", "child")]
    runtime.repeat(iid, "inner", actor="lea", reason="restart inside the called process")
    assert tasks(runtime, iid)[1:] == [("inner", "cancelled", None), ("inner", "ready", None)]
    assert runtime.instance_view(iid).markers == view.markers
    runtime.skip(iid, "inner", actor="lea", reason="done by phone")
    assert runtime.instance_view(iid).markers == {"start": "done", "first": "done", "call": "done", "end": "done"}
    assert instance(runtime, iid).status == "completed"


def test_current_data_is_the_open_steps_data_then_the_final_data(runtime: Runtime, linear3: str) -> None:
    assert runtime.instance_view(linear3).data == {"customer_id": "C-1", "business_key": None}
    for element in ("t1", "t2", "t3"):
        runtime.complete(open_task(runtime, linear3, element).id, actor="sam", data={"note": element})
    final = runtime.instance_view(linear3)
    assert final.data["note"] == "t3"
    assert final.skippable == [] and final.repeatable == []


def test_retry_records_its_reason(runtime: Runtime, incident: str) -> None:
    runtime.retry(incident, actor="lea", reason="the scoring service is back")
    [(actor, payload)] = events(runtime, incident, "incident_retried")
    assert (actor, payload["reason"]) == ("lea", "the scoring service is back")


def test_repeating_the_step_before_a_running_call_activity_drops_the_called_process(runtime: Runtime) -> None:
    runtime.deploy({"child.bpmn": CHILD, "parent.bpmn": PARENT}, actor="designer")
    iid = runtime.start("parent", actor="sam")
    runtime.complete(open_task(runtime, iid, "first").id, actor="sam")
    runtime.repeat(iid, "first", actor="lea", reason="wrong contract attached")
    assert tasks(runtime, iid) == [
        ("first", "completed", "sam"),
        ("inner", "cancelled", None),
        ("first", "ready", None),
    ]
    assert runtime.instance_view(iid).markers == {"start": "done", "first": "active"}
    runtime.complete(open_task(runtime, iid, "first").id, actor="sam")
    runtime.complete(open_task(runtime, iid, "inner").id, actor="sam")
    assert instance(runtime, iid).status == "completed"
