"""An instance that loops for years keeps a bounded engine state: finished iterations are compacted away on save,
and the instance still runs, restarts from its JSON and completes as before."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select

from engine import FrozenClock, Runtime, Store
from engine import _compaction as compaction
from engine import _specs as specs
from engine._compaction import compact_now, compacted_elements, task_count
from engine._interventions import element_states
from engine.models import AuditEvent, HumanTask, ProcessInstance
from processes import build_registry
from tests.bpmn_builder import HEADER, flow, process, user_task
from tests.engine.helpers import (
    DONE_FIELD,
    GOAL_FIELD,
    LOOP,
    instance,
    loop_body,
    open_tasks,
    run_weeks,
    the_task,
)

CALLED = (
    HEADER
    + '<bpmn:process id="caller" name="caller" isExecutable="true"><bpmn:startEvent id="c_start"/>'
    + '<bpmn:callActivity id="call" name="Weekly sessions" calledElement="weekly"/>'
    + user_task("wrap_up", "Wrap up", "csm")
    + '<bpmn:endEvent id="c_end"/>'
    + flow("c1", "c_start", "call")
    + flow("c2", "call", "wrap_up")
    + flow("c3", "wrap_up", "c_end")
    + "</bpmn:process>"
    + f'<bpmn:process id="weekly" name="weekly" isExecutable="true">{loop_body()}</bpmn:process>'
    + "</bpmn:definitions>\n"
).encode()

PARALLEL = process(
    "pairs",
    '<bpmn:startEvent id="start"/>'
    + '<bpmn:parallelGateway id="split"/>'
    + user_task("left", "Left", "csm")
    + user_task("right", "Right", "csm", DONE_FIELD)
    + '<bpmn:parallelGateway id="join"/>'
    + '<bpmn:exclusiveGateway id="more" default="f_again"/>'
    + '<bpmn:endEvent id="end"/>'
    + flow("f1", "start", "split")
    + flow("f2", "split", "left")
    + flow("f3", "split", "right")
    + flow("f4", "left", "join")
    + flow("f5", "right", "join")
    + flow("f6", "join", "more")
    + flow("f_again", "more", "split")
    + flow("f_done", "more", "end", "done"),
)


NUDGED = process(
    "nudged",
    '<bpmn:startEvent id="start"/>'
    + user_task("intake", "Intake", "csm", GOAL_FIELD)
    + user_task("work", "Weekly session", "csm", DONE_FIELD)
    + '<bpmn:boundaryEvent id="late" attachedToRef="work" cancelActivity="true">'
    + '<bpmn:timerEventDefinition><bpmn:timeDuration>"P3D"</bpmn:timeDuration></bpmn:timerEventDefinition>'
    + "</bpmn:boundaryEvent>"
    + user_task("nudge", "Nudge the customer", "csm")
    + '<bpmn:exclusiveGateway id="more" default="f_again"/>'
    + '<bpmn:exclusiveGateway id="which" default="f_other"/>'
    + user_task("grow", "Plan growth", "csm")
    + '<bpmn:endEvent id="end_grow"/><bpmn:endEvent id="end_other"/>'
    + flow("f1", "start", "intake")
    + flow("f2", "intake", "work")
    + flow("f3", "work", "more")
    + flow("f_late", "late", "nudge")
    + flow("f_nudged", "nudge", "work")
    + flow("f_again", "more", "work")
    + flow("f_done", "more", "which", "done")
    + flow("f_grow", "which", "grow", 'goal == "grow"')
    + flow("f_other", "which", "end_other")
    + flow("f5", "grow", "end_grow"),
)


def state_size(runtime: Runtime, instance_id: str) -> int:
    return len(instance(runtime, instance_id).state_json)


def sizes_over(
    runtime: Runtime, instance_id: str, weeks: int, step: Callable[[int], None], every: int = 1
) -> dict[int, int]:
    sizes = {}
    for week in range(1, weeks + 1):
        step(1)
        if week % every == 0:
            sizes[week] = state_size(runtime, instance_id)
    return sizes


def finish(runtime: Runtime, clock: FrozenClock, instance_id: str, prefix: str = "") -> str:
    """The last session (done), its week, then the step the goal set at intake chooses."""
    task = the_task(runtime, instance_id)
    runtime.complete(task.id, actor="ana", data={"done": True})
    clock.advance(days=7, seconds=1)
    assert runtime.fire_due_timers() == 1
    last = the_task(runtime, instance_id)
    assert last.element_id == f"{prefix}grow", "the goal set at intake, 150 weeks earlier, still chooses the path"
    return runtime.complete(last.id, actor="ana")


# -- a user task looping on a timer -------------------------------------------------------------------------------
def test_a_weekly_loop_keeps_its_state_bounded_for_150_weeks_and_still_completes(
    runtime: Runtime, clock: FrozenClock
) -> None:
    runtime.deploy({"weekly.bpmn": LOOP}, actor="designer")
    iid = runtime.start("weekly", actor="ana", customer_id="C-1")
    runtime.complete(the_task(runtime, iid).id, actor="ana", data={"goal": "grow"})
    sizes = sizes_over(runtime, iid, 150, lambda n: run_weeks(runtime, clock, iid, n))

    assert max(sizes[w] for w in range(140, 151)) <= 1.5 * sizes[10], sizes
    assert finish(runtime, clock, iid) == "completed"
    assert instance(runtime, iid).status == "completed"


def test_the_history_of_compacted_weeks_stays_in_the_audit_trail_and_the_task_rows(
    runtime: Runtime, clock: FrozenClock
) -> None:
    runtime.deploy({"weekly.bpmn": LOOP}, actor="designer")
    iid = runtime.start("weekly", actor="ana", customer_id="C-1")
    runtime.complete(the_task(runtime, iid).id, actor="ana", data={"goal": "grow"})
    run_weeks(runtime, clock, iid, 60)
    with runtime.store.session() as s:
        done = s.execute(
            select(HumanTask.element_id).where(HumanTask.instance_id == iid, HumanTask.state == "completed")
        ).scalars()
        completed = s.execute(
            select(AuditEvent.seq).where(AuditEvent.instance_id == iid, AuditEvent.action == "task_completed")
        ).all()
        row = s.get(ProcessInstance, iid)
        assert row is not None
        workflow = specs.load(row.state_json, runtime._spec_pair(s, row))
    assert sorted(done) == ["intake"] + ["work"] * 60
    assert len(completed) == 61
    assert task_count(workflow) < 61  # ... while the engine state keeps only the recent weeks
    assert {"start", "intake", "work", "wait", "more"} <= set(compacted_elements(workflow))
    marks = element_states(workflow)  # the instance page's diagram still shows the dropped steps as done
    assert marks["intake"] == "done" and marks["start"] == "done"
    assert marks["work"] == "active"


def test_a_compacted_instance_restarts_from_its_json_in_a_fresh_engine_and_completes(
    runtime: Runtime, clock: FrozenClock, database_url: str, config: dict, sandbox
) -> None:
    runtime.deploy({"weekly.bpmn": LOOP}, actor="designer")
    iid = runtime.start("weekly", actor="ana", customer_id="C-1")
    runtime.complete(the_task(runtime, iid).id, actor="ana", data={"goal": "grow"})
    run_weeks(runtime, clock, iid, 10)
    ten_weeks = state_size(runtime, iid)
    run_weeks(runtime, clock, iid, 110)
    runtime.close()

    restarted = Runtime(Store(database_url), build_registry(), clock=clock, config=config, sandbox=sandbox)
    try:
        run_weeks(restarted, clock, iid, 40)
        assert state_size(restarted, iid) <= 1.5 * ten_weeks
        assert finish(restarted, clock, iid) == "completed"
    finally:
        restarted.close()


def test_an_instance_stored_long_before_compaction_is_compacted_on_its_next_save(
    runtime: Runtime, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime.deploy({"weekly.bpmn": LOOP}, actor="designer")
    iid = runtime.start("weekly", actor="ana", customer_id="C-1")
    runtime.complete(the_task(runtime, iid).id, actor="ana", data={"goal": "grow"})
    with monkeypatch.context() as patch:
        patch.setattr(compaction, "STEP", 10**9)  # as the engine stored it before compaction existed
        run_weeks(runtime, clock, iid, 60)
    grown = state_size(runtime, iid)
    runtime.live = type(runtime.live)()  # a fresh process: the next operation loads the JSON
    run_weeks(runtime, clock, iid, 1)
    assert state_size(runtime, iid) < grown / 3
    assert finish(runtime, clock, iid) == "completed"


# -- the loop inside a call activity ------------------------------------------------------------------------------
def test_a_loop_inside_a_call_activity_is_compacted_too_and_the_caller_carries_on(
    runtime: Runtime, clock: FrozenClock
) -> None:
    runtime.deploy({"caller.bpmn": CALLED}, actor="designer")
    iid = runtime.start("caller", actor="ana", customer_id="C-1")
    runtime.complete(the_task(runtime, iid).id, actor="ana", data={"goal": "grow"})
    sizes = sizes_over(runtime, iid, 150, lambda n: run_weeks(runtime, clock, iid, n))

    assert max(sizes[w] for w in range(140, 151)) <= 1.5 * sizes[10], sizes
    finish(runtime, clock, iid)  # back in the caller
    assert the_task(runtime, iid).element_id == "wrap_up"
    assert runtime.complete(the_task(runtime, iid).id, actor="ana") == "completed"


# -- a parallel split inside the loop -----------------------------------------------------------------------------
def test_a_parallel_split_inside_a_loop_is_left_alone_and_still_waits_for_both_branches_every_round(
    runtime: Runtime,
) -> None:
    """A merging parallel gateway reads its earlier rounds (finished joins of its spec, its ancestors up to an
    input it waits for): compaction leaves such a workflow alone rather than change what the join does."""
    runtime.deploy({"pairs.bpmn": PARALLEL}, actor="designer")
    iid = runtime.start("pairs", actor="ana", customer_id="C-1")
    for round_ in range(1, 31):
        tasks = {t.element_id: t for t in open_tasks(runtime, iid)}
        assert set(tasks) == {"left", "right"}, f"round {round_}: {sorted(tasks)}"
        # always left first: SpiffWorkflow 3.2's parallel join in a loop counts a branch finished in an earlier
        # round, so switching the order fires the join early, with or without compaction
        runtime.complete(tasks["left"].id, actor="ana")
        waiting_for = [t.element_id for t in open_tasks(runtime, iid)]
        assert waiting_for == ["right"], f"round {round_}: {waiting_for}"  # the join waits for the other branch
        runtime.complete(tasks["right"].id, actor="ana", data={"done": False})
    with runtime.store.session() as s:
        row = s.get(ProcessInstance, iid)
        assert row is not None
        workflow = specs.load(row.state_json, runtime._spec_pair(s, row))
    assert compact_now(workflow) == 0
    tasks = {t.element_id: t for t in open_tasks(runtime, iid)}
    runtime.complete(tasks["left"].id, actor="ana")
    assert runtime.complete(tasks["right"].id, actor="ana", data={"done": True}) == "completed"


# -- a boundary timer inside the loop -----------------------------------------------------------------------------
def test_a_loop_through_a_task_with_a_boundary_timer_is_compacted_and_its_timer_still_interrupts(
    runtime: Runtime, clock: FrozenClock
) -> None:
    runtime.deploy({"nudged.bpmn": NUDGED}, actor="designer")
    iid = runtime.start("nudged", actor="ana", customer_id="C-1")
    runtime.complete(the_task(runtime, iid).id, actor="ana", data={"goal": "grow"})
    sizes = {}
    for week in range(1, 151):
        task = the_task(runtime, iid)
        assert task.element_id == "work", f"week {week}"
        if week % 3:  # late: the boundary timer cancels the session and a nudge is due
            clock.advance(days=3, seconds=1)
            assert runtime.fire_due_timers() == 1
            nudge = the_task(runtime, iid)
            assert nudge.element_id == "nudge", f"week {week}"
            runtime.complete(nudge.id, actor="ana")
        else:
            runtime.complete(task.id, actor="ana", data={"done": False})
        sizes[week] = state_size(runtime, iid)
    assert max(sizes[w] for w in range(140, 151)) <= 1.5 * sizes[10], sizes
    runtime.complete(the_task(runtime, iid).id, actor="ana", data={"done": True})
    last = the_task(runtime, iid)
    assert last.element_id == "grow"
    assert runtime.complete(last.id, actor="ana") == "completed"


def test_a_lead_can_still_repeat_the_current_step_after_compaction_with_the_data_it_had(
    runtime: Runtime, clock: FrozenClock
) -> None:
    runtime.deploy({"weekly.bpmn": LOOP}, actor="designer")
    iid = runtime.start("weekly", actor="ana", customer_id="C-1")
    runtime.complete(the_task(runtime, iid).id, actor="ana", data={"goal": "grow"})
    run_weeks(runtime, clock, iid, 60)
    runtime.repeat(iid, "work", actor="lead", reason="the notes were wrong")
    task = the_task(runtime, iid)
    assert task.element_id == "work"
    assert runtime.task_view(task.id).data["goal"] == "grow"
    run_weeks(runtime, clock, iid, 1)
    assert finish(runtime, clock, iid) == "completed"


# -- what compaction never drops ----------------------------------------------------------------------------------
def test_compaction_leaves_an_instance_with_two_open_branches_above_their_split_alone(
    runtime: Runtime,
) -> None:
    runtime.deploy({"pairs.bpmn": PARALLEL}, actor="designer")
    iid = runtime.start("pairs", actor="ana", customer_id="C-1")
    with runtime.store.session() as s:
        row = s.get(ProcessInstance, iid)
        assert row is not None
        workflow = specs.load(row.state_json, runtime._spec_pair(s, row))
    assert compact_now(workflow, keep=0) == 0  # start, split and both branches: nothing is above the split
