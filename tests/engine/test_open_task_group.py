"""open_task_group holds exactly the candidate groups of the open human tasks, with their due date, priority
and process, whatever closes a task: completing, skipping, a cancelled instance, an interrupting boundary timer."""

from __future__ import annotations

from sqlalchemy import select

from engine import OPEN_TASK_STATES, FrozenClock, Runtime
from engine.models import HumanTask, HumanTaskGroup, OpenTaskGroup
from tests.bpmn_builder import flow, linear, process, user_task
from tests.engine.helpers import DEADLINE, open_tasks

# one step of two groups, with a priority, then a step of one group
SHARED = process(
    "shared",
    '<bpmn:startEvent id="s"/>'
    + user_task("both", "Both groups", "csm, support").replace(
        'camunda:candidateGroups="csm, support"', 'camunda:candidateGroups="csm, support" camunda:priority="80"'
    )
    + user_task("after", "After", "finance")
    + '<bpmn:endEvent id="e"/>'
    + flow("f1", "s", "both")
    + flow("f2", "both", "after")
    + flow("f3", "after", "e"),
)

Row = tuple[str, int, object, int, str]


def open_group_rows(runtime: Runtime) -> set[Row]:
    with runtime.store.session() as s:
        found = s.execute(
            select(
                OpenTaskGroup.group_name,
                OpenTaskGroup.human_task_id,
                OpenTaskGroup.due_at,
                OpenTaskGroup.priority,
                OpenTaskGroup.process_id,
            )
        )
        return {tuple(row) for row in found}  # type: ignore[misc]


def expected_rows(runtime: Runtime) -> set[Row]:
    """The groups of the open tasks, read from human_task and human_task_group."""
    with runtime.store.session() as s:
        found = s.execute(
            select(HumanTaskGroup.group_name, HumanTask.id, HumanTask.due_at, HumanTask.priority, HumanTask.process_id)
            .join(HumanTask, HumanTask.id == HumanTaskGroup.human_task_id)
            .where(HumanTask.state.in_(OPEN_TASK_STATES))
        )
        return {tuple(row) for row in found}  # type: ignore[misc]


def test_open_task_group_follows_the_open_tasks_through_every_way_a_task_closes(
    runtime: Runtime, clock: FrozenClock
) -> None:
    runtime.deploy(
        {"l.bpmn": linear("lin", 2), "s.bpmn": SHARED, "d.bpmn": DEADLINE},
        actor="d",
    )
    completed = runtime.start("lin", actor="a")
    skipped = runtime.start("lin", actor="a")
    cancelled = runtime.start("lin", actor="a")
    shared = runtime.start("shared", actor="a")
    late = runtime.start("deadline", actor="a")
    kept = runtime.start("lin", actor="a")
    [both] = open_tasks(runtime, shared)
    assert {(g, p, process) for g, task, _, p, process in open_group_rows(runtime) if task == both.id} == {
        ("csm", 80, "shared"),
        ("support", 80, "shared"),
    }
    assert open_group_rows(runtime) == expected_rows(runtime)

    [first] = open_tasks(runtime, completed)
    runtime.claim(first.id, actor="sam")
    runtime.complete(first.id, actor="sam")
    runtime.skip(skipped, "t1", actor="lea", reason="done by phone")
    runtime.cancel(cancelled, actor="lea", reason="not needed")
    runtime.complete(both.id, actor="sam")
    clock.advance(days=2, minutes=1)
    assert runtime.fire_due_timers() == 1  # the boundary timer cancels "call" and opens "escalate"
    runtime.assign(open_tasks(runtime, kept)[0].id, "sue", actor="lea")

    rows = open_group_rows(runtime)
    assert rows == expected_rows(runtime)
    still_open = {row[1] for row in rows}
    assert first.id not in still_open and both.id not in still_open
    assert {t.element_id for t in open_tasks(runtime, late)} == {"escalate"}
    # each instance left with an open step has its rows; the closed steps have none
    assert len(still_open) == len(
        [t for iid in (completed, skipped, shared, late, kept) for t in open_tasks(runtime, iid)]
    )
