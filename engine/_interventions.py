"""One instance seen and steered from outside: the state of each BPMN element (what the instance viewer colours),
the instance's current data, and a lead's two interventions on a step, skip it or run it again.

Everything here works on a loaded workflow; ``Runtime.skip`` / ``Runtime.repeat`` wrap it in the transaction that
also saves the workflow, the inbox and timer rows and the audit event.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.mixins import (
    BoundaryEventMixin,
    CallActivityMixin,
    EndEventMixin,
    EventBasedGatewayMixin,
    ExclusiveGatewayMixin,
    InclusiveGatewayMixin,
    IntermediateCatchEventMixin,
    IntermediateThrowEventMixin,
    ParallelGatewayMixin,
    StartEventMixin,
)
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine._compaction import compacted_elements
from engine._enums import FINAL_STATUSES
from engine._errors import FieldError, FormValidationError, InvalidState, NotFound
from engine._execution import ACTIVE
from engine.models import ProcessInstance

# Workflow task state -> the marker the instance viewer draws on the element.
MARKS = {
    TaskState.COMPLETED: "done",
    TaskState.READY: "active",
    TaskState.STARTED: "active",
    TaskState.WAITING: "waiting",
    TaskState.ERROR: "incident",
}
# When several tasks fall on one element (loops, a call activity's inner steps), the most urgent mark wins.
URGENCY = {"done": 0, "waiting": 1, "active": 2, "incident": 3}
GATEWAYS = (ExclusiveGatewayMixin, InclusiveGatewayMixin, ParallelGatewayMixin, EventBasedGatewayMixin)
NOT_STEPS = (
    *GATEWAYS,
    StartEventMixin,
    EndEventMixin,
    BoundaryEventMixin,
    IntermediateCatchEventMixin,
    IntermediateThrowEventMixin,
)


@dataclass(frozen=True)
class Step:
    """An element a lead can act on, as the operations form lists it."""

    element_id: str
    name: str
    process_id: str
    state: str  # the workflow task state's name: READY, ERROR, COMPLETED, ...


@dataclass(frozen=True)
class InstanceView:
    """What the instance page shows beside the audit trail."""

    instance: ProcessInstance
    bpmn_xml: str
    markers: dict[str, str]
    data: dict[str, Any]
    skippable: list[Step]
    repeatable: list[Step]


# -- reading -------------------------------------------------------------------------------------------------
def view(instance: ProcessInstance, bpmn_xml: str, workflow: BpmnWorkflow) -> InstanceView:
    live = instance.status not in FINAL_STATUSES
    return InstanceView(
        instance,
        bpmn_xml,
        element_states(workflow),
        current_data(workflow),
        skippable(workflow) if live else [],
        repeatable(workflow) if live else [],
    )


def shown_element(task: Task) -> str | None:
    """The element of the instance's own diagram that ``task`` is drawn on: itself, or for a step inside a called
    process, the call activity that called it (embedded sub-processes are part of the diagram)."""
    shown = task
    workflow = task.workflow
    top = workflow.top_workflow
    while workflow is not top:
        caller = top.get_task_from_id(workflow.parent_task_id)
        if isinstance(caller.task_spec, CallActivityMixin):
            shown = caller
        workflow = caller.workflow
    return shown.task_spec.bpmn_id  # type: ignore[no-any-return]


def element_states(workflow: BpmnWorkflow) -> dict[str, str]:
    """{element id: done | active | waiting | incident} for every element of the diagram that ran or runs, the
    elements that ran only in iterations compaction dropped from the tree included (engine._compaction)."""
    marks: dict[str, str] = dict.fromkeys(compacted_elements(workflow), "done")
    for task in workflow.get_tasks():
        mark = MARKS.get(task.state)
        element = shown_element(task) if mark else None
        if mark and element and URGENCY[mark] >= URGENCY.get(marks.get(element, "done"), 0):
            marks[element] = mark
    return marks


def current_data(workflow: BpmnWorkflow) -> dict[str, Any]:
    """What the instance holds now: the data of its open (ready, waiting, running or failed) steps, or once it has
    stopped, the workflow's final data (the data of its last task)."""
    open_tasks = [t for t in workflow.get_tasks(state=ACTIVE) if t.task_spec.bpmn_id]
    if not open_tasks:
        last = workflow.last_task
        return dict(workflow.data or (last.data if last is not None else {}))
    merged: dict[str, Any] = {}
    for task in open_tasks:
        merged.update(task.data)
    return merged


def _step(task: Task) -> Step:
    spec = task.task_spec
    return Step(spec.bpmn_id, spec.bpmn_name or spec.bpmn_id, task.workflow.spec.name, TaskState.get_name(task.state))


def skippable(workflow: BpmnWorkflow) -> list[Step]:
    """The steps ``skip`` accepts now: ready human tasks and failed steps, one entry per element."""
    return _unique(_step(t) for t in _skip_candidates(workflow))


def repeatable(workflow: BpmnWorkflow) -> list[Step]:
    """The steps ``repeat`` accepts now: every activity that ran or runs, one entry per element."""
    tasks = [t for t in workflow.get_tasks(state=TaskState.COMPLETED | ACTIVE) if _is_step(t)]
    return _unique(_step(t) for t in tasks)


def _unique(steps: Iterable[Step]) -> list[Step]:
    return list({s.element_id: s for s in steps}.values())


def _is_step(task: Task) -> bool:
    return bool(task.task_spec.bpmn_id) and not isinstance(task.task_spec, NOT_STEPS)


def _skip_candidates(workflow: BpmnWorkflow) -> list[Task]:
    ready = workflow.get_tasks(state=TaskState.READY, manual=True)
    failed = [t for t in workflow.get_tasks(state=TaskState.ERROR) if not isinstance(t.task_spec, GATEWAYS)]
    return [t for t in [*ready, *failed] if t.task_spec.bpmn_id]


# -- checks --------------------------------------------------------------------------------------------------
def require_reason(reason: str | None, what: str) -> str:
    """The reason, stripped; an empty one is refused naming the field, before anything is loaded."""
    text = (reason or "").strip()
    if not text:
        raise FormValidationError(what, [FieldError("reason", "a reason is required")])
    return text


def require_open(instance_id: str, status: str) -> None:
    if status in FINAL_STATUSES:
        raise InvalidState(f"instance {instance_id} is {status}; its steps can no longer be changed")


def _element_tasks(workflow: BpmnWorkflow, element_id: str) -> list[Task]:
    tasks = [t for t in workflow.get_tasks() if t.task_spec.bpmn_id == element_id]
    if not tasks and not any(element_id in (spec.bpmn_id for spec in s.task_specs.values()) for s in _specs(workflow)):
        raise NotFound(f"element {element_id!r} is not part of process {workflow.spec.name}")
    return tasks


def _specs(workflow: BpmnWorkflow) -> list[Any]:
    return [workflow.spec, *workflow.subprocess_specs.values()]


# -- skip ----------------------------------------------------------------------------------------------------
def skip(workflow: BpmnWorkflow, element_id: str) -> list[tuple[Task, str]]:
    """Finish every ready human task or failed step of ``element_id`` without running a form or a script; returns
    each task with the state it had. The caller advances the workflow."""
    tasks = _element_tasks(workflow, element_id)
    if any(t.state == TaskState.ERROR and isinstance(t.task_spec, GATEWAYS) for t in tasks):
        raise InvalidState(
            f"gateway {element_id!r} failed choosing a path and cannot be skipped: repeat an earlier step or retry"
        )
    candidates = {t.id for t in _skip_candidates(workflow)}
    chosen = [t for t in tasks if t.id in candidates]
    if not chosen:
        reached = sorted({TaskState.get_name(t.state).lower() for t in tasks if t.has_state(TaskState.FINISHED_MASK)})
        where = f"is {' and '.join(reached)}" if reached else "has not been reached yet"
        raise InvalidState(f"step {element_id!r} {where}: only a ready human task or a failed step can be skipped")
    skipped = []
    for task in chosen:
        before = TaskState.get_name(task.state)
        if task.state == TaskState.READY:
            task.run()  # a user or manual task: completes without form data
        else:
            _complete_failed(task, element_id)  # a failed step: its children become ready as if it had succeeded
        skipped.append((task, before))
    return skipped


def _complete_failed(task: Task, element_id: str) -> None:
    """Complete a failed step; refused (the caller's transaction rolls back) when completing it fails too, as a
    data output it must write and does not have."""
    try:
        task.complete()
    except SpiffWorkflowException as exc:
        reason = str(exc).split("\n", 1)[0].strip().rstrip(".")
        raise InvalidState(
            f"step {element_id!r} cannot be skipped: completing it fails too ({reason}); "
            "retry it with the values it needs instead"
        ) from exc


# -- repeat --------------------------------------------------------------------------------------------------
def repeat(workflow: BpmnWorkflow, element_id: str) -> tuple[Task, str, list[Task]]:
    """Put the latest run of ``element_id`` back to the start: everything that followed it is removed and the step
    runs again with the data it had before. The task gets a new id, so the repeated run is a new human task and
    KPI row while the first run's rows stay as they were. Returns (task, state it had, tasks removed)."""
    tasks = [t for t in _element_tasks(workflow, element_id) if t.has_state(TaskState.COMPLETED | ACTIVE)]
    if not tasks:
        raise InvalidState(f"step {element_id!r} has not run in this instance yet, so it cannot be repeated")
    if not _is_step(tasks[0]):
        raise InvalidState(f"{element_id!r} is an event or a gateway, not a step: repeat the step before it")
    # the run to go back to: an open one if any, else the last completed (the deepest in the tree)
    task = max(tasks, key=lambda t: (t.has_state(ACTIVE), t.depth))
    before = TaskState.get_name(task.state)
    removed = workflow.reset_from_task_id(task.id)
    _renew_id(task)
    _forget_removed_catches(workflow)
    return task, before, removed


def _renew_id(task: Task) -> None:
    """Give ``task`` a fresh id within its workflow (its parent and children follow). The task keeps its place
    in ``workflow.tasks``: the serializer restores tasks in that order and needs every parent before its child."""
    workflow, old, new = task.workflow, task.id, uuid4()
    tasks = list(workflow.tasks.items())
    workflow.tasks.clear()
    workflow.tasks.update((new if key == old else key, value) for key, value in tasks)
    task.id = new
    parent = task.parent
    if parent is not None:
        parent._children = [new if child == old else child for child in parent._children]
    for child in task.children:
        child._parent = new


def _forget_removed_catches(workflow: BpmnWorkflow) -> None:
    """Keep only live tasks among those waiting for an event. The library's reset drops tasks from the tree but
    leaves a removed timer or message catch registered, and the next timer refresh would then fail on it."""
    attached = {id(workflow), *(id(sub) for sub in workflow.subprocesses.values())}
    manager = workflow.event_manager
    live = {
        task.id: task
        for task in manager.tasks.values()
        if id(task.workflow) in attached and task.workflow.tasks.get(task.id) is task
    }
    manager.tasks.clear()
    manager.tasks.update(live)


def open_elements(workflow: BpmnWorkflow) -> list[str]:
    """The elements with an open (ready, running, waiting or failed) task, for before/after in audit events."""
    return sorted({t.task_spec.bpmn_id for t in workflow.get_tasks(state=ACTIVE) if t.task_spec.bpmn_id})
