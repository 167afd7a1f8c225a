"""Moving running instances of a process from one deployed version to another.

An instance can move when every step it is at (and every step it already passed) exists in the target version
under the same element id, and nothing open depends on how the old version drew it: a multi-instance in progress,
a timer whose definition changed, a call activity that now calls another process, events attached to an open step
that changed. ``blockers`` names each reason; ``move`` re-binds the workflow's tasks to the new version's specs
by element id (as SpiffWorkflow's own ``bpmn.util.diff.migrate_workflow`` does) and predicts again what comes
after each open step, keeping the open tasks themselves (their ids, data, claimed inbox rows and timer due times).

The serialized state names task specs, not their content (engine._specs leaves the spec out of the JSON), so the
moved state is checked by loading it on the target version before anything is written.

Transactions: each instance moves in its own transaction (re-checked there on the current row, written with the
optimistic version check), so one that cannot move, or that changed meanwhile, does not hold back the others. Its
``instance_migrated`` audit entry, the new definition columns, the state and the inbox rows of its open tasks
are written together or not at all.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.specs.base import TaskSpec
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from engine import _deploy as deploying
from engine import _specs as specs
from engine._enums import OPEN_STATUSES, AuditAction, InstanceStatus
from engine._errors import ConflictError, EngineError, NotFound
from engine._execution import ACTIVE
from engine._version_inbox import follow_open_tasks
from engine.models import ProcessDefinition, ProcessInstance, core

if TYPE_CHECKING:
    from engine._runtime import Runtime

MOVABLE_STATUSES: tuple[InstanceStatus, ...] = OPEN_STATUSES  # every instance still under way, an incident too
PREVIEW_LIMIT = 500  # instances a preview loads and judges; ``total`` tells how many are on the version
CALLED = f"{specs.BPMN_NS}callActivity"
PREDICTED = TaskState.PREDICTED_MASK | TaskState.FUTURE


class InvalidMigration(EngineError):
    """The request itself is wrong (same version twice, no instance chosen, an instance of another process):
    nothing was changed."""


class _Refused(Exception):
    def __init__(self, reasons: list[str]) -> None:
        self.reasons = reasons
        super().__init__("; ".join(reasons))


@dataclass(frozen=True)
class Step:
    element_id: str
    name: str
    state: str  # READY, WAITING, STARTED or ERROR


@dataclass(frozen=True)
class Candidate:
    """One instance on the source version, and whether it can move (``reasons`` empty) or why not."""

    instance_id: str
    customer_id: str | None
    business_key: str | None
    status: str
    started_at: datetime
    steps: list[Step]
    reasons: list[str]

    @property
    def movable(self) -> bool:
        return not self.reasons


@dataclass(frozen=True)
class Preview:
    process_id: str
    from_version: int
    to_version: int
    candidates: list[Candidate]
    total: int  # instances on the source version in a movable status (only the first PREVIEW_LIMIT are judged)

    @property
    def movable(self) -> list[Candidate]:
        return [c for c in self.candidates if c.movable]


@dataclass
class Outcome:
    moved: list[str] = field(default_factory=list)
    refused: dict[str, list[str]] = field(default_factory=dict)


# -- judging and moving a workflow (no database) -------------------------------------------------------------


def label(spec: TaskSpec) -> str:
    name = spec.bpmn_name or ""
    return f"{name!r} ({spec.bpmn_id})" if name and name != spec.bpmn_id else repr(spec.bpmn_id or spec.name)


def _workflows(workflow: BpmnWorkflow) -> list[Any]:
    return [workflow, *workflow.subprocesses.values()]


def _event_definitions(spec: TaskSpec) -> list[Any]:
    outer = getattr(spec, "event_definition", None)
    return [d for d in [outer, *getattr(outer, "event_definitions", [])] if d is not None]


def _timer_changed(old: TaskSpec, new: TaskSpec) -> bool:
    def timers(spec: TaskSpec) -> list[tuple[str, Any]]:
        return [
            (type(d).__name__, getattr(d, "expression", None))
            for d in _event_definitions(spec)
            if isinstance(d, TimerEventDefinition)
        ]

    return timers(old) != timers(new)


def _attached(spec: TaskSpec) -> list[str] | None:
    """The names of what the boundary split before ``spec`` leads to (the step and its events), None without one."""
    splits = [s for s in spec.inputs if isinstance(s, BoundaryEventSplit)]
    return sorted(o.name for o in splits[0].outputs) if splits else None


def blockers(workflow: BpmnWorkflow, target: specs.SpecPair, to_version: int) -> list[str]:
    """Why ``workflow`` cannot move to the specs ``target`` of version ``to_version`` (empty: it can)."""
    new_spec, new_subs = target
    reasons: list[str] = []
    for wf in _workflows(workflow):
        top = wf is workflow
        where = "" if top else f"in sub-process {wf.spec.name!r}: "
        new = new_spec if top else new_subs.get(wf.spec.name)
        if new is None:
            reasons.append(f"it is inside sub-process {wf.spec.name!r}, which version {to_version} does not have")
            continue
        for task in wf.tasks.values():
            old_ts: TaskSpec = task.task_spec
            new_ts: TaskSpec | None = new.task_specs.get(old_ts.name)
            if task.has_state(ACTIVE):
                reason = _open_step_blocker(task, old_ts, new_ts, to_version)
            elif task.has_state(TaskState.FINISHED_MASK) and new_ts is None:
                reason = f"it already passed {label(old_ts)}, which version {to_version} no longer has"
            else:
                reason = None
            if reason:
                reasons.append(where + reason)
    return list(dict.fromkeys(reasons))


def _open_step_blocker(task: Task, old: TaskSpec, new: TaskSpec | None, to_version: int) -> str | None:
    state = TaskState.get_name(task.state).lower()
    if new is None:
        return f"it is {state} at {label(old)}, which version {to_version} does not have"
    if type(new) is not type(old):
        return f"{label(old)} is open and is a different kind of element in version {to_version}"
    if isinstance(old, LoopTask):
        return f"the multi-instance or loop step {label(old)} is in progress; move the instance once it has finished"
    if task.state == TaskState.WAITING and _timer_changed(old, new):
        return f"it waits on the timer {label(old)}, whose definition changed in version {to_version}"
    if isinstance(old, SubWorkflowTask) and getattr(old, "spec", None) != getattr(new, "spec", None):
        return (
            f"the call activity {label(old)} is in progress and calls {getattr(new, 'spec', None)!r} in version "
            f"{to_version} instead of {getattr(old, 'spec', None)!r}"
        )
    if _attached(old) != _attached(new):
        return f"the events attached to {label(old)} changed in version {to_version} while the step is open"
    return None


def move(workflow: BpmnWorkflow, target: specs.SpecPair) -> None:
    """Re-bind every task of ``workflow`` (and of its sub-processes) to the spec of the same name in ``target``,
    and predict again what follows each open step (call ``blockers`` first: it must have found nothing)."""
    new_spec, new_subs = target
    workflow.spec = new_spec
    workflow.subprocess_specs = new_subs
    for sub in workflow.subprocesses.values():
        sub.spec = new_subs[sub.spec.name]
    for wf in _workflows(workflow):
        for task in wf.tasks.values():
            found = wf.spec.task_specs.get(task.task_spec.name)
            if found is not None:
                task.task_spec = found
    for wf in _workflows(workflow):
        for task in list(wf.tasks.values()):
            if task.id in wf.tasks and task.has_state(ACTIVE) and all(c.has_state(PREDICTED) for c in task.children):
                _predict_again(wf, task)


def _predict_again(wf: Any, task: Task) -> None:
    """Drop the predicted branch below an open step and predict it again from the step's (new) spec."""
    for child in list(task.children):
        wf._remove_task(child.id)
    if task.has_state(TaskState.DEFINITE_MASK):
        task.task_spec._predict_hook(task)
    else:  # a failed step: what follows it is definite once it runs again
        task._sync_children(task.task_spec.outputs, TaskState.FUTURE)
    for child in task.children:
        child.task_spec._predict(child, mask=PREDICTED)


def open_steps(workflow: BpmnWorkflow) -> list[Step]:
    found = {}
    for task in workflow.get_tasks(state=ACTIVE):
        spec = task.task_spec
        if spec.bpmn_id and not isinstance(spec, SubWorkflowTask):
            found[spec.bpmn_id] = Step(spec.bpmn_id, spec.bpmn_name or spec.bpmn_id, TaskState.get_name(task.state))
    return sorted(found.values(), key=lambda s: s.element_id)


def judge(workflow: BpmnWorkflow, target: specs.SpecPair, to_version: int) -> list[str]:
    """``blockers``, then (when there are none) move ``workflow`` and check its state loads on the target: the
    reasons it cannot move, empty when it moved (``workflow`` is then on the target)."""
    reasons = blockers(workflow, target, to_version)
    if reasons:
        return reasons
    try:
        move(workflow, target)
        specs.load(specs.dump(workflow), target)
    except Exception as exc:  # the library's own check of the moved tree: any failure refuses the move
        return [f"its state does not fit version {to_version}: {exc.__class__.__name__}: {exc}".rstrip(": ")]
    return []


# -- the operations ------------------------------------------------------------------------------------------


class Versions:
    """The migration operations of the runtime (``Runtime.migration_preview`` / ``migrate_instances``)."""

    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime

    def definitions(self, session: Session, process_id: str, from_version: int, to_version: int) -> tuple[Any, Any]:
        """The two definitions, or NotFound / InvalidMigration naming what is wrong."""
        found = {
            row.version: row
            for row in session.execute(
                select(ProcessDefinition).where(
                    ProcessDefinition.process_id == process_id,
                    ProcessDefinition.version.in_((from_version, to_version)),
                )
            ).scalars()
        }
        if not found and deploying.latest(session, process_id) is None:
            raise NotFound(f"process {process_id!r} is not deployed")
        for version in (from_version, to_version):
            if version not in found:
                raise NotFound(f"process {process_id!r} has no version {version}")
        if from_version == to_version:
            raise InvalidMigration(f"from and to are the same version ({from_version}): choose two versions")
        return found[from_version], found[to_version]

    def called_after(self, session: Session, called: str, target: ProcessDefinition) -> list[int]:
        """The called definitions an instance has on ``target``: the ones it already has, for the processes the
        target still calls (transitively), and the latest for processes it newly calls."""
        current = {self.rt._definition(session, i)[0]: i for i in json.loads(called or "[]")}
        found: list[int] = []
        pending = [(target.process_id, target.bpmn_xml)]
        seen = {target.process_id}
        while pending:
            pid_now, xml_now = pending.pop()
            for node in specs.single_process(xml_now, pid_now).iter(CALLED):
                pid = node.get("calledElement")
                if not pid or pid in seen:
                    continue
                seen.add(pid)
                definition_id = current.get(pid)
                if definition_id is None:
                    latest = deploying.latest(session, pid)
                    definition_id = None if latest is None else latest.id
                if definition_id is not None:
                    found.append(definition_id)
                    pending.append((pid, self.rt._definition(session, definition_id)[1]))
        return found

    def spec_pair(self, session: Session, definition_ids: Sequence[int]) -> specs.SpecPair:
        processes = [self.rt._definition(session, i) for i in definition_ids]
        return self.rt.specs.get(processes, self.rt.specs.decisions(session, definition_ids, processes))

    def preview(self, process_id: str, from_version: int, to_version: int, limit: int = PREVIEW_LIMIT) -> Preview:
        with self.rt.store.session() as session:
            source, target = self.definitions(session, process_id, from_version, to_version)
            on_source = (ProcessInstance.definition_id == source.id, ProcessInstance.status.in_(MOVABLE_STATUSES))
            total = session.execute(select(func.count()).select_from(ProcessInstance).where(*on_source)).scalar_one()
            rows = session.execute(
                select(ProcessInstance).where(*on_source).order_by(ProcessInstance.started_at).limit(limit)
            ).scalars()
            candidates = []
            for row in rows:
                workflow = specs.load(row.state_json, self.rt._spec_pair(session, row))
                steps = open_steps(workflow)
                called = self.called_after(session, row.called_definitions, target)
                reasons = judge(workflow, self.spec_pair(session, [target.id, *called]), to_version)
                candidates.append(
                    Candidate(row.id, row.customer_id, row.business_key, row.status, row.started_at, steps, reasons)
                )
        return Preview(process_id, from_version, to_version, candidates, total)

    def migrate(
        self, process_id: str, from_version: int, to_version: int, instance_ids: Iterable[str], *, actor: str
    ) -> Outcome:
        chosen = list(dict.fromkeys(instance_ids))
        with self.rt.store.session() as session:
            source, target = self.definitions(session, process_id, from_version, to_version)
            if not chosen:
                raise InvalidMigration("choose at least one instance to move")
            owners = dict(
                session.execute(
                    select(ProcessInstance.id, ProcessInstance.process_id).where(ProcessInstance.id.in_(chosen))
                ).all()
            )
        missing = [i for i in chosen if i not in owners]
        if missing:
            raise NotFound(f"process instance(s) {', '.join(missing)} do not exist")
        others = [f"{i} (of {owners[i]!r})" for i in chosen if owners[i] != process_id]
        if others:
            raise InvalidMigration(f"instance(s) {', '.join(others)} are not instances of process {process_id!r}")
        outcome = Outcome()
        for instance_id in chosen:
            try:
                with self.rt.unit() as u:
                    self._move_one(u, instance_id, source, target, actor)
                outcome.moved.append(instance_id)
            except _Refused as refused:
                outcome.refused[instance_id] = refused.reasons
            except ConflictError as exc:
                outcome.refused[instance_id] = [str(exc)]
        return outcome

    def _move_one(
        self, u: Any, instance_id: str, source: ProcessDefinition, target: ProcessDefinition, actor: str
    ) -> None:
        ex = self.rt._load(u, instance_id, actor)
        instance = ex.instance
        if instance.definition_id != source.id:
            now_on = u.session.get(ProcessDefinition, instance.definition_id)
            version = now_on.version if now_on is not None else "?"
            raise _Refused([f"it is on version {version} now, not on version {source.version}"])
        if instance.status not in MOVABLE_STATUSES:
            raise _Refused([f"it is {instance.status}"])
        called = self.called_after(u.session, instance.called_definitions, target)
        old_specs = {str(t.id): t.task_spec for t in ex.workflow.get_tasks(state=TaskState.READY, manual=True)}
        steps = open_steps(ex.workflow)
        reasons = judge(ex.workflow, self.spec_pair(u.session, [target.id, *called]), target.version)
        if reasons:
            raise _Refused(reasons)
        before = {"version": source.version, "definition": source.id, "called": json.loads(instance.called_definitions)}
        instance.definition_id, instance.called_definitions = target.id, json.dumps(called)
        tasks = follow_open_tasks(u.conn, ex, old_specs, self.rt.default_group)
        ex.record(
            AuditAction.INSTANCE_MIGRATED,
            {
                "before": before,
                "after": {"version": target.version, "definition": target.id, "called": called},
                "steps": [s.element_id for s in steps],
                "tasks": tasks,
            },
        )
        ex.save()
        u.conn.execute(
            update(core(ProcessInstance))
            .where(core(ProcessInstance).c.id == instance.id)
            .values(definition_id=target.id, called_definitions=instance.called_definitions)
        )
