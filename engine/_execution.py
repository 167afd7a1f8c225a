"""One instance inside one operation: load it, run it, and save it with its inbox and timer projections.

The projection keeps ``human_task`` (READY user/manual tasks), ``timer`` (WAITING timer events) and
``external_task`` (topic tasks waiting for a worker) in step with the workflow on every save, so the inbox, the
scheduler and the workers never read the workflow JSON.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowDataException
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import Session

from engine import _alerts as alerts
from engine import _audit as audit
from engine import _compaction as compaction
from engine import _open_groups as open_groups
from engine import _specs as specs
from engine._dialects import (
    ASSIGNEE,
    CANDIDATE_GROUPS,
    CANDIDATE_USERS,
    DEFAULT_GROUP,
    PRIORITY,
    HandlerServiceTask,
    MessageEventDefinition,
    resolve_assignee,
    static_names,
)
from engine._dml import Prepared
from engine._durations import DurationError, parse_duration
from engine._enums import FINAL_STATUSES, OPEN_TASK_STATES, AlertResolution, AuditAction, InstanceStatus
from engine._enums import TaskState as InboxState  # a human task row's state; TaskState here is SpiffWorkflow's
from engine._errors import ConflictError
from engine._handlers import HandlerRegistry, Happened
from engine._sandbox import SandboxedScriptEngine
from engine._unit import Unit
from engine.models import ExternalTask, HumanTask, HumanTaskGroup, ProcessInstance, Timer, core

log = logging.getLogger(__name__)

# The states a save looks at, read in one walk of the task tree: READY/STARTED (running), WAITING (timers), ERROR.
ACTIVE = TaskState.READY | TaskState.STARTED | TaskState.WAITING | TaskState.ERROR
# engine steps (tasks the engine runs itself) one operation may take on one instance before it stops with an
# incident: a loop that never ends must not hold a worker and the instance's row for ever. The runtime sets
# ``Execution.max_steps`` from the config key [engine] max_steps_per_operation.
DEFAULT_MAX_STEPS = 1000
# the audit action of an instance reaching each final status
FINISHED = {
    InstanceStatus.COMPLETED: AuditAction.INSTANCE_COMPLETED,
    InstanceStatus.CANCELLED: AuditAction.INSTANCE_CANCELLED,
}
# internal data a failed task carries: how a retry runs it again (see ``mark_failed``)
RETRY_KEY = "jornada_retry"

# Statements of every operation's path, built once: building a Core statement costs more than running it.
_INSTANCE, _HUMAN_TASK, _TIMER = core(ProcessInstance), core(HumanTask), core(Timer)
FETCH_INSTANCE = select(_INSTANCE).where(_INSTANCE.c.id == bindparam("b_id"))
INSERT_INSTANCE = Prepared(_INSTANCE.insert())
# SET takes the columns of the parameters given (those an operation can change), WHERE the optimistic version check
UPDATE_INSTANCE = Prepared(
    _INSTANCE.update().where(_INSTANCE.c.id == bindparam("b_id"), _INSTANCE.c.version == bindparam("b_version"))
)
INSERT_HUMAN_TASK = Prepared(_HUMAN_TASK.insert().returning(_HUMAN_TASK.c.id))
INSERT_GROUPS = Prepared(core(HumanTaskGroup).insert())
CANCEL_HUMAN_TASKS = (
    _HUMAN_TASK.update()
    .where(
        _HUMAN_TASK.c.instance_id == bindparam("b_instance"),
        _HUMAN_TASK.c.task_id.in_(bindparam("b_tasks", expanding=True)),
        _HUMAN_TASK.c.state.in_(OPEN_TASK_STATES),
    )
    .values(state=InboxState.CANCELLED, completed_at=bindparam("b_now"))
    .returning(*alerts.CLOSED_COLUMNS)
)
DELETE_TIMERS = Prepared(_TIMER.delete().where(_TIMER.c.instance_id == bindparam("b_instance")))
INSERT_TIMERS = Prepared(_TIMER.insert())
_EXTERNAL = core(ExternalTask)
INSERT_EXTERNAL = Prepared(_EXTERNAL.insert())
DELETE_EXTERNAL = _EXTERNAL.delete().where(
    _EXTERNAL.c.instance_id == bindparam("b_instance"), _EXTERNAL.c.task_id.in_(bindparam("b_tasks", expanding=True))
)


class JornadaScriptEngine(SandboxedScriptEngine):
    """The script engine of one execution; ``call_handler`` dispatches service-task topics."""

    call_handler: Callable[[Task, str, Mapping[str, str]], Mapping[str, Any] | None] | None = None
    # whether a topic has an in-process handler; a task whose topic has none waits for a worker (external task)
    has_handler: Callable[[str], bool] | None = None


@dataclass
class InstanceRecord:
    """A process_instance row held by one operation; written back with THE optimistic version check.

    The one record of an instance that engine code changes: read with Core (cheaper than an ORM load on every
    operation's path, see engine._dml), its fields are the columns of ``engine.models.ProcessInstance`` in order (a
    test holds them equal), and it is the only writer of those rows. The ORM model serves reads."""

    id: str
    definition_id: int
    process_id: str
    called_definitions: str
    customer_id: str | None
    business_key: str | None
    status: str
    incident: str | None
    state_json: str
    waiting_messages: str | None
    serializer_version: str
    version: int
    started_by: str
    started_at: datetime
    ended_at: datetime | None

    # Besides state_json and version, the columns an operation can change. An UPDATE sets only those that did:
    # naming an indexed column in SET rewrites its index entry even when the value is the same.
    CHANGING = ("status", "incident", "waiting_messages", "serializer_version", "ended_at")

    def __post_init__(self) -> None:
        self._written = self._changing()  # as the row holds them (fetched, or about to be inserted)

    @classmethod
    def fetch(cls, conn: Connection, instance_id: str) -> InstanceRecord | None:
        row = conn.execute(FETCH_INSTANCE, {"b_id": instance_id}).one_or_none()
        return None if row is None else cls(**row._mapping)

    def insert(self, conn: Connection) -> None:
        INSERT_INSTANCE.run(conn, self._values())
        self._written = self._changing()

    def update(self, conn: Connection) -> None:
        """Write back the workflow state and what else changed (the other columns are fixed at start)."""
        now = self._changing()
        values = {"b_id": self.id, "b_version": self.version, "version": self.version + 1}
        values["state_json"] = self.state_json
        values |= {key: new for key, new, was in zip(self.CHANGING, now, self._written, strict=True) if new != was}
        changed = UPDATE_INSTANCE.run(conn, values)
        if changed != 1:
            raise ConflictError(f"instance {self.id} was changed by another session at the same time; reload and retry")
        self.version += 1
        self._written = now

    def _changing(self) -> tuple[Any, ...]:
        return tuple(getattr(self, key) for key in self.CHANGING)

    def _values(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Observers:
    """The domain's listeners on audited actions (``HandlerRegistry.listen``) and the config they may read."""

    registry: HandlerRegistry
    config: Mapping[str, Any]


@dataclass
class Execution:
    """A loaded instance plus the context of the operation running it."""

    unit: Unit
    instance: InstanceRecord
    workflow: BpmnWorkflow
    actor: str
    now: datetime
    closed: set[str] = field(default_factory=set)  # human tasks this operation closed itself (e.g. completed)
    # what the inbox and timer tables hold for this instance, when the caller knows it (a workflow kept since the
    # save that wrote them); otherwise it is read off the workflow
    projected: Projection | None = None
    saved: bool = False
    max_steps: int = DEFAULT_MAX_STEPS
    default_group: str = DEFAULT_GROUP  # the queue of a human step with no role: [engine] default_group
    failed: bool = False  # this operation raised an incident: the save keeps the instance in ``incident``

    @property
    def session(self) -> Session:
        return self.unit.session

    @property
    def conn(self) -> Connection:
        return self.unit.conn

    def __post_init__(self) -> None:
        # what the inbox and timer tables hold for this instance now: the projection writes only the difference
        if self.projected is not None:
            ready, self._timers_at_load, external = self.projected
            self._ready_at_load, self._external_at_load = set(ready), set(external)
        elif self.instance.state_json != "{}":
            active = self.workflow.get_tasks(state=ACTIVE)
            self._ready_at_load = set(ready_human_tasks(active))
            self._timers_at_load = timer_rows(self.workflow, active)
            self._external_at_load = set(external_tasks(active))
        else:
            self._ready_at_load, self._timers_at_load, self._external_at_load = set(), [], set()

    def projection(self) -> Projection:
        """What the inbox, timer and external task tables hold for this instance after this operation's save."""
        return frozenset(self._ready_at_load), list(self._timers_at_load), frozenset(self._external_at_load)

    # -- running -------------------------------------------------------------------------------------------
    def advance(self) -> None:
        """Run engine steps until only humans, timers or messages can move the instance; record incidents."""
        steps = 0

        def count(task: Task) -> None:
            nonlocal steps
            steps += 1
            if steps > self.max_steps:
                raise StepLimitExceeded(task, self.max_steps)

        with self.guard():
            self.workflow.refresh_timers()
            self.workflow.do_engine_steps(will_complete_task=count)
            # do_engine_steps refreshes timers only at its end: one more round runs a timer it made READY
            if self.workflow.get_next_task(state=TaskState.READY, manual=False) is not None:
                self.workflow.do_engine_steps(will_complete_task=count)

    @contextlib.contextmanager
    def guard(self) -> Iterator[None]:
        """Run the block; any failure in it (scripts, expressions, handlers, data) becomes an incident."""
        try:
            yield
        except Exception as exc:  # scripts, expressions and handlers: any failure is an incident, not a crash
            self.fail(exc)

    def fail(self, exc: Exception) -> None:
        """Put the instance in incident for ``exc``: the task that failed is left in ERROR (so it shows, and a
        retry runs it again), the reason is recorded, and the save keeps the instance in ``incident``."""
        failed = mark_failed(self.workflow, exc)
        self.failed = True
        self.instance.status = InstanceStatus.INCIDENT
        self.instance.incident = describe_failure(self.workflow, exc)
        log.warning("instance %s incident: %s", self.instance.id, self.instance.incident)
        elements = sorted({task.task_spec.bpmn_id or task.task_spec.name for task in failed})
        self.record(AuditAction.INCIDENT_RAISED, {"message": self.instance.incident, "elements": elements})

    def reopen_failed(self, data: Mapping[str, Any]) -> list[Task]:
        """Run the failed tasks again, ``data`` added to their data first (e.g. a variable a timer or a data
        output needs); a new failure is an incident again. Returns the tasks reopened."""
        failed: list[Task] = self.workflow.get_tasks(state=TaskState.ERROR)
        with self.guard():
            for task in failed:
                reopen(task, data)
        return failed

    def record(self, action: str, payload: dict[str, Any], task_id: str | None = None) -> None:
        audit.append(
            self.conn,
            at=self.now,
            actor=self.actor,
            action=action,
            payload=payload,
            process_id=self.instance.process_id,
            instance_id=self.instance.id,
            task_id=task_id,
            customer_id=self.instance.customer_id,
        )
        observers = self.unit.observers
        if observers is not None and observers.registry.listeners(action):
            happened = Happened(
                conn=self.conn,
                open_session=lambda: self.session,
                now=self.now,
                actor=self.actor,
                action=action,
                process_id=self.instance.process_id,
                instance_id=self.instance.id,
                customer_id=self.instance.customer_id,
                task_id=task_id,
                payload=payload,
                config=observers.config,
            )
            for listener in observers.registry.listeners(action):
                listener(happened)

    # -- saving --------------------------------------------------------------------------------------------
    def save(self) -> None:
        workflow, instance = self.workflow, self.instance
        was_final = instance.status in FINAL_STATUSES
        active = workflow.get_tasks(state=ACTIVE)
        error_tasks = [task for task in active if task.state == TaskState.ERROR]
        if instance.status == InstanceStatus.CANCELLED:
            pass
        elif workflow.is_completed():
            instance.status = InstanceStatus.COMPLETED
        elif error_tasks or self.failed:
            instance.status = InstanceStatus.INCIDENT
            if not instance.incident:
                named = error_tasks[0].task_spec.bpmn_id if error_tasks else "of the instance"
                instance.incident = f"task {named} is in error"
        else:
            instance.incident = None
            instance.status = InstanceStatus.RUNNING if any(map(is_running, active)) else InstanceStatus.WAITING
        if instance.status in FINAL_STATUSES and instance.ended_at is None:
            instance.ended_at = self.now
            if not was_final:
                self.record(FINISHED[InstanceStatus(instance.status)], {"data": workflow.data if workflow.data else {}})
        instance.waiting_messages = "" if instance.status in FINAL_STATUSES else waiting_messages(active)
        compaction.compact(workflow)  # finished loop iterations nothing looks back at: a bounded state
        instance.state_json = specs.dump(workflow)
        instance.serializer_version = specs.SERIALIZER_VERSION
        instance.update(self.conn)
        self._project_human_tasks(active)
        self._project_timers(active)
        self._project_external_tasks(active)
        self.saved = True

    def _project_human_tasks(self, active: list[Task]) -> None:
        final = self.instance.status in FINAL_STATUSES
        ready = {} if final else ready_human_tasks(active)
        gone = self._ready_at_load - ready.keys() - self.closed
        if gone:
            self._cancel_human_tasks(gone)
        for task_id in ready.keys() - self._ready_at_load:
            self._add_human_task(task_id, ready[task_id])
        self._ready_at_load = set(ready)

    def _cancel_human_tasks(self, task_ids: Collection[str]) -> None:
        """Close the inbox rows of tasks that left READY without being completed (a boundary event, a cancelled or
        finished instance, a repeated step), and resolve their alerts."""
        params = {"b_instance": self.instance.id, "b_tasks": sorted(task_ids), "b_now": self.now}
        cancelled = self.conn.execute(CANCEL_HUMAN_TASKS, params).all()
        open_groups.remove(self.conn, [row.id for row in cancelled])
        alerted = [row for row in cancelled if row.alerted_at is not None]
        if alerted:
            alerts.resolve(
                self.conn, alerted, resolution=AlertResolution.TASK_CANCELLED, actor=self.actor, now=self.now
            )

    def _add_human_task(self, task_id: str, task: Task) -> None:
        spec = task.task_spec
        ext: Mapping[str, str] = getattr(spec, "extensions", None) or {}
        groups, assignee = task_roles(ext, spec.lane, task.data, self.default_group)
        due, warn, stuck = sla_moments(ext, self.now)
        try:
            priority = int(ext.get(PRIORITY) or 50)
        except ValueError:
            priority = 50
        conn = self.conn
        row_id = INSERT_HUMAN_TASK.run_returning(
            conn,
            {
                "instance_id": self.instance.id,
                "task_id": task_id,
                "element_id": spec.bpmn_id or spec.name,
                "name": spec.bpmn_name or spec.bpmn_id or spec.name,
                "process_id": task.workflow.spec.name,
                "customer_id": self.instance.customer_id,
                "candidate_groups": ",".join(groups),
                "assignee": assignee,
                "priority": priority,
                "state": InboxState.CLAIMED if assignee else InboxState.READY,
                "created_at": self.now,
                "claimed_at": self.now if assignee else None,
                "due_at": due,
                "warn_at": warn,
                "stuck_at": stuck,
            },
        )
        if groups:
            INSERT_GROUPS.run_many(conn, [{"human_task_id": row_id, "group_name": g} for g in groups])
            open_groups.add(conn, row_id, groups, due, priority, process_id=task.workflow.spec.name)

    def _project_timers(self, active: list[Task]) -> None:
        final = self.instance.status in FINAL_STATUSES
        rows = [] if final else timer_rows(self.workflow, active)
        if rows == self._timers_at_load:
            return
        conn = self.conn
        DELETE_TIMERS.run(conn, {"b_instance": self.instance.id})
        if rows:
            INSERT_TIMERS.run_many(
                conn,
                [{"instance_id": self.instance.id, "task_id": t, "element_id": e, "due_at": d} for t, e, d in rows],
            )
        self._timers_at_load = rows

    def _project_external_tasks(self, active: list[Task]) -> None:
        """An ``external_task`` row for each task waiting for a worker; the rows of tasks that stopped waiting
        (completed, cancelled by a boundary event, failed into an incident, instance finished) are deleted."""
        waiting = {} if self.instance.status in FINAL_STATUSES else external_tasks(active)
        if waiting.keys() == self._external_at_load:
            return
        gone = self._external_at_load - waiting.keys()
        if gone:
            self.conn.execute(DELETE_EXTERNAL, {"b_instance": self.instance.id, "b_tasks": sorted(gone)})
        for task_id in sorted(waiting.keys() - self._external_at_load):
            task = waiting[task_id]
            spec = task.task_spec
            INSERT_EXTERNAL.run(
                self.conn,
                {
                    "instance_id": self.instance.id,
                    "task_id": task_id,
                    "element_id": spec.bpmn_id or spec.name,
                    "process_id": task.workflow.spec.name,
                    "topic": spec.topic,
                    "customer_id": self.instance.customer_id,
                    "worker_id": None,
                    "lock_expires_at": None,
                    "retries": None,
                    "error_message": None,
                    "created_at": self.now,
                },
            )
        self._external_at_load = set(waiting)

    def scrub_data(self, keep: Collection[str]) -> None:
        """Keep only the ``keep`` keys in the data of every task and (sub)workflow of this instance, and none of the
        engine's own notes on finished tasks (a caught message's payload is kept there)."""
        workflows = [self.workflow, *self.workflow.subprocesses.values()]
        for workflow in workflows:
            workflow.data = {k: v for k, v in workflow.data.items() if k in keep}
            for task in workflow.tasks.values():
                kept = {k: v for k, v in task.data.items() if k in keep}
                task.data.clear()
                task.data.update(kept)
                if task.has_state(TaskState.FINISHED_MASK):  # caught message payloads, multi-instance items
                    task.internal_data.clear()
        self.record(AuditAction.INSTANCE_DATA_SCRUBBED, {"kept": sorted(keep)})

    # -- lookups -------------------------------------------------------------------------------------------
    def task(self, task_id: str) -> Task | None:
        found: Task | None = self.workflow.get_task_from_id(UUID(task_id))
        return found


# (ready human task ids, timer rows, ids of tasks waiting for an external worker)
Projection = tuple[frozenset[str], list[tuple[str, str, datetime]], frozenset[str]]


def ready_human_tasks(active: list[Task]) -> dict[str, Task]:
    """READY user/manual tasks by id, among ``active`` (a workflow's tasks in ACTIVE states)."""
    return {str(task.id): task for task in active if task.state == TaskState.READY and task.task_spec.manual}


def external_tasks(active: list[Task]) -> dict[str, Task]:
    """Tasks waiting for an external worker by id, among ``active``: a topic task left STARTED (its topic has no
    in-process handler; one with a handler completes or fails at once)."""
    return {
        str(task.id): task
        for task in active
        if task.state == TaskState.STARTED and isinstance(task.task_spec, HandlerServiceTask)
    }


def task_roles(
    ext: Mapping[str, str], lane: str | None, data: Mapping[str, Any], default_group: str
) -> tuple[list[str], str | None]:
    """(candidate groups, assignee) of a human task becoming ready with ``data``. Groups: the declared ones (the
    expressions the engine does not evaluate left out), else the lane's name, else ``default_group``. Assignee: the
    declared one resolved against ``data`` (nobody when it resolves to nothing), else the only candidate user."""
    groups = static_names(ext.get(CANDIDATE_GROUPS) or "") or static_names(lane or "") or [default_group]
    assignee = resolve_assignee(ext.get(ASSIGNEE), data)
    users = static_names(ext.get(CANDIDATE_USERS) or "") or []
    if assignee is None and len(users) == 1:
        assignee = users[0][:100]
    return list(dict.fromkeys(groups)), assignee


def timer_rows(workflow: BpmnWorkflow, active: list[Task]) -> list[tuple[str, str, datetime]]:
    return sorted((str(task.id), task.task_spec.bpmn_id or "", due) for task, due in due_timers(workflow, active))


def sla_moments(ext: Mapping[str, str], start: datetime) -> tuple[datetime | None, datetime | None, datetime | None]:
    """(due, warn, stuck) from the sla_* extension properties; due defaults to stuck."""

    def moment(key: str) -> datetime | None:
        text = ext.get(key)
        if not text:
            return None
        try:
            return start + parse_duration(text, start)
        except DurationError:
            return None

    warn, stuck = moment("sla_warn"), moment("sla_stuck")
    return moment("sla_due") or stuck, warn, stuck


def due_timers(workflow: BpmnWorkflow, active: list[Task] | None = None) -> list[tuple[Task, datetime]]:
    found = []
    waiting = (
        workflow.get_tasks(state=TaskState.WAITING)
        if active is None
        else [task for task in active if task.state == TaskState.WAITING]
    )
    for task in waiting:
        definition = getattr(task.task_spec, "event_definition", None)
        # an event-based gateway waits on a combined definition; its timer keeps its due time on the same task
        definitions = [definition, *getattr(definition, "event_definitions", [])]
        if any(isinstance(d, TimerEventDefinition) for d in definitions):
            value = task.internal_data.get("event_value")
            if value is None:
                continue
            text = value["next"] if isinstance(value, dict) else value
            found.append((task, datetime.fromisoformat(text)))
    return found


def waiting_messages(active: list[Task]) -> str:
    """The message names the WAITING tasks among ``active`` catch, as ",name,other," ("" for none)."""
    names = set()
    for task in active:
        if task.state != TaskState.WAITING:
            continue
        outer = getattr(task.task_spec, "event_definition", None)
        for definition in [outer, *getattr(outer, "event_definitions", [])]:
            if isinstance(definition, MessageEventDefinition):
                names.add(definition.name)
    return f",{','.join(sorted(names))}," if names else ""


class StepLimitExceeded(Exception):
    """One operation ran more engine steps than allowed: a loop (or a recursion) that would never end."""

    def __init__(self, task: Task, limit: int) -> None:
        self.task = task
        spec = task.task_spec
        super().__init__(
            f"the instance ran more than {limit} engine steps in one operation and was stopped before "
            f"{spec.bpmn_id or spec.name} ({spec.bpmn_name or spec.__class__.__name__}): a loop or a recursion that "
            "never waits for a person, a timer or a message; fix the model, then retry "
            "(the limit is [engine] max_steps_per_operation)"
        )


def is_running(task: Task) -> bool:
    """A task that is runnable now: READY, or STARTED and working (a sub-process task is STARTED while what it
    runs waits, and an external task while it waits for a worker, so neither is running by itself)."""
    if task.state == TaskState.READY:
        return True
    # a sub-process task waits for what it runs; a topic task left STARTED waits for an external worker
    return task.state == TaskState.STARTED and not isinstance(task.task_spec, SubWorkflowTask | HandlerServiceTask)


def mark_failed(workflow: BpmnWorkflow, exc: Exception) -> list[Task]:
    """The tasks in ERROR after ``exc``; when the library left none there, the one that failed is put there.

    The library sets ERROR only when a task's own run fails. An expression evaluated while a task is *reached*
    (a timer's duration, date or cycle) or a hook run after it completed (a data output) fails with the task
    FUTURE, WAITING or COMPLETED: nothing would show the failure and nothing could retry it. The task is named by
    the exception, else it is a task the failure stranded (not yet reached, although its parent completed).
    ``RETRY_KEY`` records how to run it again: reach it again, run it again, or complete it again."""
    failed: list[Task] = workflow.get_tasks(state=TaskState.ERROR)
    if failed:
        return failed
    named = getattr(exc, "task", None)
    if isinstance(named, Task) and named.workflow.top_workflow is workflow:
        culprits = [named]
    else:
        culprits = [
            task
            for task in workflow.get_tasks(state=TaskState.FUTURE)
            if task.parent is not None and task.parent.state == TaskState.COMPLETED
        ]
    for task in culprits:
        if task.has_state(TaskState.FUTURE | TaskState.PREDICTED_MASK | TaskState.WAITING):
            how = "update"
        elif task.state == TaskState.COMPLETED:
            how = "complete"
        else:
            how = "run"
        task.internal_data[RETRY_KEY] = how
        workflow.top_workflow.event_manager.remove_task(task)  # a timer refresh must not take it out of ERROR
        task._set_state(TaskState.ERROR)
    return culprits


def reopen(task: Task, data: Mapping[str, Any]) -> None:
    """Run a failed task again the way it failed (``mark_failed``), with ``data`` added to its data."""
    how = task.internal_data.pop(RETRY_KEY, "run")
    task.data.update(data)
    if how == "update":
        # reached again: its data is inherited from its parent (so the values go there too), and a timer's value
        # is evaluated again
        if task.parent is not None:
            task.parent.data.update(data)
        task.internal_data.pop("event_value", None)
        task._set_state(TaskState.FUTURE)
        task.task_spec._update(task)
    elif how == "complete":
        task.complete()
    else:
        task._set_state(TaskState.READY)


def describe_failure(workflow: BpmnWorkflow, exc: Exception) -> str:
    """A one-paragraph reason: which element failed and why."""
    failed = workflow.get_tasks(state=TaskState.ERROR)
    where = ""
    if failed:
        spec = failed[0].task_spec
        where = f"{spec.bpmn_id} ({spec.bpmn_name or spec.__class__.__name__}) in {failed[0].workflow.spec.name}: "
    message = str(exc).strip().rstrip(".").strip()
    missing = getattr(getattr(exc, "data_output", None), "bpmn_id", None)
    if isinstance(exc, WorkflowDataException) and missing:
        message = (
            f"the task must write data output {missing!r} when it completes, but its data has no {missing!r}: "
            f"retry with {missing!r} supplied"
        )
    line, error_line = getattr(exc, "line_number", None), getattr(exc, "error_line", None)
    if line and error_line and f"line {line}" not in message:
        message += f" (line {line}: {str(error_line).strip()})"
    return where + (message or exc.__class__.__name__)
