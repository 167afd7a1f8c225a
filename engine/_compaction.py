"""Compaction of finished loop iterations: keeps an instance's engine state bounded however long it loops.

SpiffWorkflow keeps every finished task in the tree, so an instance that loops (a weekly training session, a
30-day quick-wins window) grows its JSON, its load time and its tree depth without bound; past a depth of 1000 the
library's task iterator stops descending and the instance's open tasks are no longer found at all.

``compact`` runs on the save path, before the state is written. In each (sub)workflow that is running it finds
the *anchor*: the deepest task every unfinished task (and the last completed one) descends from, i.e. the point
where the workflow collapses to a single thread. It keeps the anchor, ``KEEP`` finished ancestors above it (the
recent steps a lead can still repeat) and everything below, and hangs that chain directly under the workflow's
root task; the finished ancestors above it, the finished branches hanging off them and the sub-workflows those
ran are dropped. Nothing the library looks back at is dropped:

- a boundary-event or start-event split an unfinished join will look for (``BoundaryEventJoin``/``StartEventJoin``
  find their split among their ancestors) stays: the cut moves above it;
- a merging parallel or inclusive gateway reads tasks of its own spec that are not its ancestors and walks its
  ancestors up to an input it waits for (``_join_specs``): a workflow whose part to drop holds such a join or one
  of its inputs is left alone (a parallel block inside a loop is not compacted);
- the task holding each live sub-workflow, the last completed task and the root are kept; a sub-workflow is
  dropped only with the finished task that ran it, and only when it has nothing unfinished;
- the root takes the data the first kept task started from, so repeating that step starts from the same data
  (each task holds its own copy of the data; the serializer writes each as a delta against its parent).

Workflows it does not understand (ad-hoc processes with a completion condition) are left alone. The elements the
dropped tasks completed are remembered on the root (``compacted_elements``) so the instance diagram still marks
them done; the steps' history is in the audit trail and the ``human_task``/``task_kpi`` rows.

Only workflows that went round a loop are compacted (a model without loops keeps its whole history, so every
step stays repeatable). Cost: ``compact`` counts tasks (``len`` of each workflow's task dict) and returns at once
until the trees grew by ``STEP`` tasks since the last try, or when no workflow has more tasks than its model has
elements; a try walks the tasks of each looping workflow once (about 50-200 µs for a loop's kept window).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.control import _EndJoin
from SpiffWorkflow.bpmn.specs.mixins import CallActivityMixin
from SpiffWorkflow.bpmn.specs.mixins.unstructured_join import UnstructuredJoin
from SpiffWorkflow.bpmn.util.subworkflow import BpmnBaseWorkflow
from SpiffWorkflow.specs.Join import Join
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

# tasks the trees may grow by before a compaction is tried again
STEP = 6
# finished ancestors of the anchor kept (the recent steps a lead can still repeat)
KEEP = 6
# the workflow attribute holding the task count after the last try (not serialized: a loaded workflow tries once)
_MARK = "_jornada_compaction_mark"
# the root's internal data: what was dropped, for the diagram
RECORD = "jornada_compacted"


@dataclass
class Plan:
    """What to drop from one workflow: its new first task under the root and the tasks that go."""

    workflow: BpmnBaseWorkflow
    first: Task
    dropped: list[Task]


@dataclass
class Outcome:
    tasks: int = 0  # tasks dropped, sub-workflows' included
    elements: set[str] = field(default_factory=set)


def task_count(workflow: BpmnWorkflow) -> int:
    return len(workflow.tasks) + sum(len(sub.tasks) for sub in workflow.subprocesses.values())


def compact(workflow: BpmnWorkflow) -> int:
    """Drop the finished iterations nothing can look back at; returns the number of tasks dropped (0 when the
    trees have not grown by ``STEP`` tasks since the last try)."""
    count = task_count(workflow)
    if count < getattr(workflow, _MARK, 0) + STEP:
        return 0
    if not any(map(has_looped, [workflow, *workflow.subprocesses.values()])):
        setattr(workflow, _MARK, count)
        return 0
    dropped = compact_now(workflow)
    setattr(workflow, _MARK, count - dropped)
    return dropped


def has_looped(workflow: BpmnBaseWorkflow) -> bool:
    """Whether the workflow has more tasks than its model has elements: it went round a loop (a model without
    loops makes about one task per element). The cheap test before looking for a loop in the tree."""
    return not workflow.completed and len(workflow.tasks) > len(workflow.spec.task_specs)


def compact_now(workflow: BpmnWorkflow, *, keep: int | None = None) -> int:
    """Compact ``workflow`` and its running sub-workflows now; returns the number of tasks dropped."""
    keep = KEEP if keep is None else keep
    outcome = Outcome()
    _compact_one(workflow, workflow, keep, outcome)
    for sub in list(workflow.subprocesses.values()):
        if workflow.subprocesses.get(sub.parent_task_id) is sub and not sub.completed:
            _compact_one(workflow, sub, keep, outcome)
    if outcome.tasks:
        record = workflow.task_tree.internal_data.setdefault(RECORD, {"elements": [], "tasks": 0})
        record["elements"] = sorted(set(record["elements"]) | outcome.elements)
        record["tasks"] += outcome.tasks
    return outcome.tasks


def compacted_elements(workflow: BpmnWorkflow) -> list[str]:
    """The elements of the instance's diagram that completed in iterations compaction dropped."""
    record: dict[str, Any] = workflow.task_tree.internal_data.get(RECORD) or {}
    return list(record.get("elements", []))


# -- one workflow ----------------------------------------------------------------------------------------------
def _compact_one(top: BpmnWorkflow, workflow: BpmnBaseWorkflow, keep: int, outcome: Outcome) -> None:
    plan = plan_for(workflow, keep)
    if plan is None:
        return
    doomed = _doomed_subprocesses(top, plan.dropped)
    if doomed is None:
        return
    shown = _shown_element(top, workflow)
    completed = _completed_elements(plan.dropped)
    outcome.elements.update(completed if shown is None else [shown] if completed else [])
    for sub in doomed:  # an embedded sub-process's own elements are drawn on the diagram, a called one's are not
        if _shown_element(top, sub) is None:
            outcome.elements.update(_completed_elements(sub.tasks.values()))
    _apply(top, plan, doomed)
    outcome.tasks += len(plan.dropped) + sum(len(sub.tasks) for sub in doomed)


def _completed_elements(tasks: Iterable[Task]) -> set[str]:
    return {t.task_spec.bpmn_id for t in tasks if t.state == TaskState.COMPLETED and t.task_spec.bpmn_id}


def plan_for(workflow: BpmnBaseWorkflow, keep: int) -> Plan | None:
    """What compaction would drop from ``workflow`` (its own tasks only), or None when nothing can go."""
    spec = workflow.spec
    if getattr(spec, "completion_condition", None) is not None or getattr(spec, "conditional_paths", None):
        return None  # ad-hoc processes re-read the root's branches
    root = workflow.task_tree
    unfinished = [t for t in workflow.tasks.values() if not t.has_state(TaskState.FINISHED_MASK)]
    if not unfinished:
        return None
    pinned = unfinished if workflow.last_task is None else [*unfinished, workflow.last_task]
    anchor = _common_ancestor(pinned)
    if anchor is None or anchor is root or not _went_round(anchor):
        return None
    first = _first_kept(anchor, unfinished, keep)
    if first is None:
        return None
    kept = {root.id, *_subtree_ids(first)}
    dropped = [t for t in workflow.tasks.values() if t.id not in kept]
    if not dropped or any(not t.has_state(TaskState.FINISHED_MASK) for t in dropped):
        return None
    joined = _join_specs(workflow)
    if joined and any(t.task_spec.name in joined for t in dropped):
        return None  # a parallel or inclusive join would see a different past
    return Plan(workflow, first, dropped)


def _common_ancestor(tasks: list[Task]) -> Task | None:
    """The deepest task that ``tasks`` all are or descend from."""
    chain = _ancestry(tasks[0])  # the task itself first, the root last
    position = {task.id: index for index, task in enumerate(chain)}
    deepest = 0
    for task in tasks[1:]:
        current: Task | None = task
        while current is not None and current.id not in position:
            current = current.parent
        if current is None:
            return None
        deepest = max(deepest, position[current.id])
    return chain[deepest]


def _ancestry(task: Task) -> list[Task]:
    chain = []
    current: Task | None = task
    while current is not None:
        chain.append(current)
        current = current.parent
    return chain


def _went_round(anchor: Task) -> bool:
    """Whether an element ran twice on the way to the anchor: only finished loop iterations are compacted, a
    workflow that has not looped keeps its whole history."""
    seen: set[str] = set()
    for task in _ancestry(anchor):
        if task.task_spec.name in seen:
            return True
        seen.add(task.task_spec.name)
    return False


def _first_kept(anchor: Task, unfinished: list[Task], keep: int) -> Task | None:
    """The highest task to keep: ``keep`` ancestors above the anchor, higher still when an unfinished structured
    join (a boundary event's, the start events') will look for its split above that; None when nothing but the
    root would be dropped."""
    chain = _ancestry(anchor)[:-1]  # the anchor first, up to the root's child
    if len(chain) <= 1:
        return None
    index = min(max(keep, 1), len(chain) - 1)
    position = {task.id: at for at, task in enumerate(chain)}
    for task in unfinished:
        split = getattr(task.task_spec, "split_task", None)
        if not (isinstance(task.task_spec, Join) and split):
            continue
        found = _nearest(task, split)
        if found is None:
            return None  # its split is already missing: leave this workflow as it is
        index = max(index, position.get(found.id, 0))
    if index >= len(chain) - 1:
        return None  # the first kept task already hangs under the root
    return chain[index]


def _nearest(task: Task, spec_name: str) -> Task | None:
    """``task.find_ancestor(spec_name)`` without recursion (trees not yet compacted can be very deep)."""
    current = task.parent
    while current is not None and current.task_spec.name != spec_name:
        current = current.parent
    return current


def _join_specs(workflow: BpmnBaseWorkflow) -> frozenset[str]:
    """The names of this workflow's merging parallel and inclusive gateways and of their inputs.

    Such a join reads tasks beyond its ancestors: the finished tasks of its own spec that are not its ancestors
    (their inputs count as arrived, their data is merged in) and, from the predicted next round of a loop, its
    ancestors up to an input it still waits for, however far up. Dropping any of them could change what it does,
    so a workflow whose part to drop holds one is left alone."""
    names: set[str] = set()
    for ts in workflow.spec.task_specs.values():
        if isinstance(ts, UnstructuredJoin) and not isinstance(ts, _EndJoin) and len(ts.inputs) > 1:
            names.add(ts.name)
            names.update(i.name for i in ts.inputs)
    return frozenset(names)


def _subtree_ids(task: Task) -> list[UUID]:
    tasks = task.workflow.tasks
    found, stack = [], [task.id]
    while stack:
        task_id = stack.pop()
        found.append(task_id)
        child = tasks.get(task_id)
        if child is not None:
            stack.extend(child._children)
    return found


def _doomed_subprocesses(top: BpmnWorkflow, dropped: Iterable[Task]) -> list[BpmnBaseWorkflow] | None:
    """The sub-workflows run by the dropped tasks (and those they ran); None if one still has unfinished tasks."""
    doomed: list[BpmnBaseWorkflow] = []
    queue = [task.id for task in dropped]
    while queue:
        sub = top.subprocesses.get(queue.pop())
        if sub is None:
            continue
        if any(not t.has_state(TaskState.FINISHED_MASK) for t in sub.tasks.values()):
            return None
        doomed.append(sub)
        queue.extend(sub.tasks)
    return doomed


def _shown_element(top: BpmnWorkflow, workflow: BpmnBaseWorkflow) -> str | None:
    """For a sub-workflow inside a call activity, the call activity drawn on the instance's diagram; None for the
    top workflow and embedded sub-processes drawn on it (their own elements are shown)."""
    shown = None
    current = workflow
    while current is not top:
        caller = top.get_task_from_id(current.parent_task_id)
        if isinstance(caller.task_spec, CallActivityMixin):
            shown = caller.task_spec.bpmn_id
        current = caller.workflow
    return shown


def _apply(top: BpmnWorkflow, plan: Plan, doomed: list[BpmnBaseWorkflow]) -> None:
    workflow, first = plan.workflow, plan.first
    root = workflow.task_tree
    previous = first.parent
    assert previous is not None
    if previous is not root:
        root.data = previous.data  # the data the first kept task started from (a repeat of it starts there again)
    root._children = [first.id]
    first._parent = root.id
    events = top.event_manager
    for task in plan.dropped:
        del workflow.tasks[task.id]
        events.remove_task(task)
    for sub in doomed:
        for task in sub.tasks.values():
            events.remove_task(task)
        del top.subprocesses[sub.parent_task_id]
