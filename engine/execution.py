"""One instance inside one operation: load it, run it, and save it with its inbox and timer projections.

The projection keeps ``human_task`` (READY user/manual tasks) and ``timer`` (WAITING timer events) in step with
the workflow on every save, so the inbox and the scheduler never read the workflow JSON.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import audit, specs
from engine.dialects import ASSIGNEE, CANDIDATE_GROUPS, PRIORITY
from engine.durations import DurationError, parse_duration
from engine.errors import ConflictError
from engine.models import HumanTask, HumanTaskGroup, ProcessInstance, Timer, core
from engine.sandbox import SandboxedScriptEngine

log = logging.getLogger(__name__)

OPEN_STATES = ("ready", "claimed")


class JornadaScriptEngine(SandboxedScriptEngine):
    """The script engine of one execution; ``call_handler`` dispatches service-task topics."""

    call_handler: Callable[[Task, str, Mapping[str, str]], Mapping[str, Any] | None] | None = None


@dataclass
class InstanceRecord:
    """A process_instance row held by one operation; written back with an optimistic version check."""

    id: str
    definition_id: int
    process_id: str
    called_definitions: str
    customer_id: str | None
    business_key: str | None
    status: str
    incident: str | None
    state_json: str
    serializer_version: str
    version: int
    started_by: str
    started_at: datetime
    ended_at: datetime | None

    @classmethod
    def fetch(cls, session: Session, instance_id: str) -> InstanceRecord | None:
        table = core(ProcessInstance)
        row = session.connection().execute(select(table).where(table.c.id == instance_id)).one_or_none()
        return None if row is None else cls(**row._mapping)

    def insert(self, session: Session) -> None:
        session.connection().execute(core(ProcessInstance).insert(), self._values())

    def update(self, session: Session) -> None:
        table = core(ProcessInstance)
        values = self._values() | {"version": self.version + 1}
        changed = (
            session.connection()
            .execute(table.update().where(table.c.id == self.id, table.c.version == self.version).values(values))
            .rowcount
        )
        if changed != 1:
            raise ConflictError(f"instance {self.id} was changed by another session at the same time; reload and retry")
        self.version += 1

    def _values(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class Execution:
    """A loaded instance plus the context of the operation running it."""

    session: Session
    instance: InstanceRecord
    workflow: BpmnWorkflow
    actor: str
    now: datetime
    closed: set[str] = field(default_factory=set)  # human tasks this operation closed itself (e.g. completed)

    def __post_init__(self) -> None:
        # what the inbox and timer tables hold for this instance now: the projection writes only the difference
        self._ready_at_load = set(ready_human_tasks(self.workflow)) if self.instance.state_json != "{}" else set()
        self._timers_at_load = timer_rows(self.workflow) if self.instance.state_json != "{}" else []

    # -- running -------------------------------------------------------------------------------------------
    def advance(self) -> None:
        """Run engine steps until only humans, timers or messages can move the instance; record incidents."""
        try:
            self.workflow.refresh_timers()
            self.workflow.do_engine_steps()
            # do_engine_steps refreshes timers only at its end: one more round runs a timer it made READY
            if self.workflow.get_next_task(state=TaskState.READY, manual=False) is not None:
                self.workflow.do_engine_steps()
        except Exception as exc:  # scripts, expressions and handlers: any failure is an incident, not a crash
            self.instance.status = "incident"
            self.instance.incident = describe_failure(self.workflow, exc)
            log.warning("instance %s incident: %s", self.instance.id, self.instance.incident)
            self.record("incident_raised", {"message": self.instance.incident})

    def record(self, action: str, payload: dict[str, Any], task_id: str | None = None) -> None:
        audit.append(
            self.session,
            at=self.now,
            actor=self.actor,
            action=action,
            payload=payload,
            process_id=self.instance.process_id,
            instance_id=self.instance.id,
            task_id=task_id,
            customer_id=self.instance.customer_id,
        )

    # -- saving --------------------------------------------------------------------------------------------
    def save(self) -> None:
        workflow, instance = self.workflow, self.instance
        was_final = instance.status in ("completed", "cancelled")
        error_tasks = workflow.get_tasks(state=TaskState.ERROR)
        if instance.status == "cancelled":
            pass
        elif workflow.is_completed():
            instance.status = "completed"
        elif error_tasks:
            instance.status = "incident"
            if not instance.incident:
                instance.incident = f"task {error_tasks[0].task_spec.bpmn_id} is in error"
        else:
            instance.incident = None
            ready = workflow.get_next_task(state=TaskState.READY | TaskState.STARTED)
            instance.status = "running" if ready is not None else "waiting"
        if instance.status in ("completed", "cancelled") and instance.ended_at is None:
            instance.ended_at = self.now
            if not was_final:
                self.record(f"instance_{instance.status}", {"data": workflow.data if workflow.data else {}})
        instance.state_json = specs.dump(workflow)
        instance.serializer_version = specs.SERIALIZER_VERSION
        instance.update(self.session)
        self._project_human_tasks()
        self._project_timers()

    def _project_human_tasks(self) -> None:
        final = self.instance.status in ("completed", "cancelled")
        ready = {} if final else ready_human_tasks(self.workflow)
        gone = self._ready_at_load - ready.keys() - self.closed
        if gone:
            table = core(HumanTask)
            self.session.connection().execute(
                table.update()
                .where(
                    table.c.instance_id == self.instance.id, table.c.task_id.in_(gone), table.c.state.in_(OPEN_STATES)
                )
                .values(state="cancelled", completed_at=self.now)
            )
        for task_id in ready.keys() - self._ready_at_load:
            self._add_human_task(task_id, ready[task_id])
        self._ready_at_load = set(ready)

    def _add_human_task(self, task_id: str, task: Task) -> None:
        spec = task.task_spec
        ext: Mapping[str, str] = getattr(spec, "extensions", None) or {}
        groups = [g.strip() for g in (ext.get(CANDIDATE_GROUPS) or spec.lane or "").split(",") if g.strip()]
        due, warn, stuck = sla_moments(ext, self.now)
        try:
            priority = int(ext.get(PRIORITY) or 50)
        except ValueError:
            priority = 50
        assignee = ext.get(ASSIGNEE) or None
        conn = self.session.connection()
        row_id = conn.execute(
            core(HumanTask).insert().returning(core(HumanTask).c.id),
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
                "state": "claimed" if assignee else "ready",
                "created_at": self.now,
                "claimed_at": self.now if assignee else None,
                "due_at": due,
                "warn_at": warn,
                "stuck_at": stuck,
            },
        ).scalar_one()
        if groups:
            conn.execute(core(HumanTaskGroup).insert(), [{"human_task_id": row_id, "group_name": g} for g in groups])

    def _project_timers(self) -> None:
        final = self.instance.status in ("completed", "cancelled")
        rows = [] if final else timer_rows(self.workflow)
        if rows == self._timers_at_load:
            return
        conn, table = self.session.connection(), core(Timer)
        conn.execute(table.delete().where(table.c.instance_id == self.instance.id))
        if rows:
            conn.execute(
                table.insert(),
                [{"instance_id": self.instance.id, "task_id": t, "element_id": e, "due_at": d} for t, e, d in rows],
            )
        self._timers_at_load = rows

    def scrub_data(self, keep: Collection[str]) -> None:
        """Keep only the ``keep`` keys in the data of every task and (sub)workflow of this instance."""
        workflows = [self.workflow, *self.workflow.subprocesses.values()]
        for workflow in workflows:
            workflow.data = {k: v for k, v in workflow.data.items() if k in keep}
            for task in workflow.tasks.values():
                kept = {k: v for k, v in task.data.items() if k in keep}
                task.data.clear()
                task.data.update(kept)
        self.record("instance_data_scrubbed", {"kept": sorted(keep)})

    # -- lookups -------------------------------------------------------------------------------------------
    def task(self, task_id: str) -> Task | None:
        found: Task | None = self.workflow.get_task_from_id(UUID(task_id))
        return found


def ready_human_tasks(workflow: BpmnWorkflow) -> dict[str, Task]:
    return {str(task.id): task for task in workflow.get_tasks(state=TaskState.READY, manual=True)}


def timer_rows(workflow: BpmnWorkflow) -> list[tuple[str, str, datetime]]:
    return sorted((str(task.id), task.task_spec.bpmn_id or "", due) for task, due in due_timers(workflow))


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


def due_timers(workflow: BpmnWorkflow) -> list[tuple[Task, datetime]]:
    found = []
    for task in workflow.get_tasks(state=TaskState.WAITING):
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


def describe_failure(workflow: BpmnWorkflow, exc: Exception) -> str:
    """A one-paragraph reason: which element failed and why."""
    failed = workflow.get_tasks(state=TaskState.ERROR)
    where = ""
    if failed:
        spec = failed[0].task_spec
        where = f"{spec.bpmn_id} ({spec.bpmn_name or spec.__class__.__name__}) in {failed[0].workflow.spec.name}: "
    message = str(exc).strip().rstrip(".").strip()
    line, error_line = getattr(exc, "line_number", None), getattr(exc, "error_line", None)
    if line and error_line and f"line {line}" not in message:
        message += f" (line {line}: {str(error_line).strip()})"
    return where + (message or exc.__class__.__name__)
