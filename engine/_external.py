"""External tasks: a service, send or business rule task whose topic (``camunda:topic``, Zeebe's
``zeebe:taskDefinition type``) has no in-process handler waits, STARTED, for a worker outside the engine.

Modelled on Camunda 7's external-task API (docs/external-tasks.md): a worker fetches and locks tasks by topic for a
while, then completes one with variables, reports a failure (retries left: fetchable again after a timeout; none
left: an incident the existing retry runs again) or throws a BPMN error a boundary error event catches. A lock that
expired may be fetched by another worker; the one who held it can then no longer complete it. Each operation is one
transaction with its audit entry. The ``external_task`` rows are kept by the save (engine._execution).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import ErrorEventDefinition
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import Row, or_, select, update

from engine._data_limits import TASK_DATA, problem_in
from engine._enums import AuditAction
from engine._errors import ConflictError, EngineError, FieldError, FormValidationError, InvalidState, NotFound
from engine._execution import Execution
from engine._unit import Unit
from engine.models import ExternalTask, core

if TYPE_CHECKING:
    from engine._runtime import Runtime

_ROWS = core(ExternalTask)
MAX_LOCK_MS = 7 * 24 * 3600 * 1000  # a lock (or retry timeout) of at most a week


@dataclass(frozen=True)
class TopicRequest:
    """One topic a worker fetches: how long to lock its tasks, and which variables to return (None: all)."""

    name: str
    lock_duration_ms: int
    variables: Collection[str] | None = None


@dataclass(frozen=True)
class ExternalTaskView:
    id: int
    topic: str
    instance_id: str
    process_id: str
    element_id: str
    customer_id: str | None
    worker_id: str | None
    lock_expires_at: datetime | None
    retries: int | None
    error_message: str | None
    created_at: datetime
    variables: dict[str, Any] | None = None  # only when fetched and locked

    @classmethod
    def of(cls, row: Row[Any], variables: dict[str, Any] | None = None) -> ExternalTaskView:
        m = row._mapping
        return cls(
            id=m["id"],
            topic=m["topic"],
            instance_id=m["instance_id"],
            process_id=m["process_id"],
            element_id=m["element_id"],
            customer_id=m["customer_id"],
            worker_id=m["worker_id"],
            lock_expires_at=m["lock_expires_at"],
            retries=m["retries"],
            error_message=m["error_message"],
            created_at=m["created_at"],
            variables=variables,
        )


class BadExternalTaskRequest(EngineError):
    """A value out of range (a lock duration, a retry count); nothing was changed."""


class ExternalTaskFailed(Exception):
    """A worker reported that an external task failed with no retries left (or threw an error nobody catches)."""

    def __init__(self, task: Task, message: str) -> None:
        self.task = task  # engine._execution.mark_failed puts this task in ERROR, so a retry runs it again
        super().__init__(message)


def _duration(ms: int, what: str) -> timedelta:
    if not 0 <= ms <= MAX_LOCK_MS:
        raise BadExternalTaskRequest(f"{what} must be 0 to {MAX_LOCK_MS} milliseconds, not {ms}")
    return timedelta(milliseconds=ms)


def _bounded(row: Row[Any], variables: Mapping[str, Any]) -> dict[str, Any]:
    """The worker's variables, refused (422, naming the variable) beyond what task data may hold."""
    problem = problem_in(dict(variables), TASK_DATA)
    if problem is not None:
        name = problem.path.split(".", 1)[0].split("[", 1)[0] or "variables"
        raise FormValidationError(f"{row.element_id} (external task {row.id})", [FieldError(name, problem.message)])
    return dict(variables)


def _free(now: datetime) -> Any:
    return or_(_ROWS.c.lock_expires_at.is_(None), _ROWS.c.lock_expires_at <= now)


class ExternalTasks:
    """The external-task operations of a runtime (``runtime.external``)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    # -- reads -----------------------------------------------------------------------------------------------
    def waiting(self, topic: str | None = None, limit: int = 100) -> list[ExternalTaskView]:
        query = select(_ROWS).order_by(_ROWS.c.created_at, _ROWS.c.id).limit(limit)
        if topic is not None:
            query = query.where(_ROWS.c.topic == topic)
        with self.runtime.store.session() as session:
            return [ExternalTaskView.of(row) for row in session.execute(query).all()]

    # -- operations ------------------------------------------------------------------------------------------
    def fetch_and_lock(
        self, worker_id: str, topics: Collection[TopicRequest], *, max_tasks: int, actor: str
    ) -> list[ExternalTaskView]:
        """Lock up to ``max_tasks`` tasks of ``topics`` that nobody holds (never locked, lock expired, retry
        timeout over) for ``worker_id``, oldest first; returns them with their variables."""
        by_name = {topic.name: topic for topic in topics}
        durations = {
            name: _duration(t.lock_duration_ms, f"lock duration of topic {name!r}") for name, t in by_name.items()
        }
        if not by_name or max_tasks <= 0:
            return []
        locked: list[ExternalTaskView] = []
        with self.runtime.unit() as u:
            candidates = u.conn.execute(
                select(_ROWS)
                .where(_ROWS.c.topic.in_(sorted(by_name)), _free(u.now))
                .order_by(_ROWS.c.created_at, _ROWS.c.id)
                .limit(max_tasks)
            ).all()
            for row in candidates:
                until = u.now + durations[row.topic]
                taken = u.conn.execute(
                    update(_ROWS)
                    .where(_ROWS.c.id == row.id, _free(u.now))
                    .values(worker_id=worker_id, lock_expires_at=until)
                ).rowcount
                if taken != 1:
                    continue  # another worker locked it since the select
                ex, task = self._open(u, row, actor)
                names = by_name[row.topic].variables
                data = dict(task.data)
                variables = data if names is None else {k: data[k] for k in names if k in data}
                ex.record(
                    AuditAction.EXTERNAL_TASK_LOCKED,
                    {
                        "external_task": row.id,
                        "element": row.element_id,
                        "topic": row.topic,
                        "worker": worker_id,
                        "until": until.isoformat(),
                        "previous_worker": row.worker_id,
                    },
                    row.task_id,
                )
                fresh = u.conn.execute(select(_ROWS).where(_ROWS.c.id == row.id)).one()
                locked.append(ExternalTaskView.of(fresh, variables))
        return locked

    def complete(self, task_pk: int, worker_id: str, variables: Mapping[str, Any], *, actor: str) -> str:
        """Complete the task with ``variables`` merged into its data; the process goes on. Returns the
        instance's new status."""
        with self.runtime.unit() as u:
            row = self._held(u, task_pk, worker_id)
            ex, task = self._open(u, row, actor)
            values = _bounded(row, variables)
            ex.record(
                AuditAction.EXTERNAL_TASK_COMPLETED,
                {
                    "external_task": row.id,
                    "element": row.element_id,
                    "topic": row.topic,
                    "worker": worker_id,
                    "before": {key: task.data.get(key) for key in values},
                    "after": values,
                },
                row.task_id,
            )
            task.data.update(values)
            with ex.guard():  # what completing runs (data outputs, what comes next) may fail
                task.complete()
            self.runtime._finish(ex)
            return ex.instance.status

    def failure(
        self,
        task_pk: int,
        worker_id: str,
        error_message: str,
        *,
        retries: int,
        retry_timeout_ms: int,
        error_details: str | None = None,
        actor: str,
    ) -> str:
        """Record a failed attempt: with ``retries`` left the task is fetchable again after ``retry_timeout_ms``;
        with none the instance goes to ``incident`` (its retry runs the task again). Returns the instance status."""
        if retries < 0:
            raise BadExternalTaskRequest(f"retries must be 0 or more, not {retries}")
        timeout = _duration(retry_timeout_ms, "retry timeout")
        with self.runtime.unit() as u:
            row = self._held(u, task_pk, worker_id)
            ex, task = self._open(u, row, actor)
            ex.record(
                AuditAction.EXTERNAL_TASK_FAILED,
                {
                    "external_task": row.id,
                    "element": row.element_id,
                    "topic": row.topic,
                    "worker": worker_id,
                    "message": error_message,
                    "details": error_details,
                    "retries": retries,
                    "retry_timeout_ms": retry_timeout_ms,
                },
                row.task_id,
            )
            if retries > 0:
                u.conn.execute(
                    update(_ROWS)
                    .where(_ROWS.c.id == row.id)
                    .values(
                        worker_id=None,
                        lock_expires_at=u.now + timeout if retry_timeout_ms else None,
                        retries=retries,
                        error_message=error_message,
                    )
                )
                return ex.instance.status
            ex.fail(ExternalTaskFailed(task, f"external task (topic {row.topic!r}) failed: {error_message}"))
            ex.save()  # the task is in ERROR: its row goes; a retry runs it again and a new row is made
            return ex.instance.status

    def bpmn_error(
        self,
        task_pk: int,
        worker_id: str,
        error_code: str,
        *,
        error_message: str | None = None,
        variables: Mapping[str, Any] | None = None,
        actor: str,
    ) -> str:
        """Throw BPMN error ``error_code`` from the task: a boundary error event catching it (or catching every
        error) takes over, with ``variables`` in its data. Nobody catching it is an incident. Returns the status."""
        with self.runtime.unit() as u:
            row = self._held(u, task_pk, worker_id)
            ex, task = self._open(u, row, actor)
            values = _bounded(row, variables or {})
            ex.record(
                AuditAction.EXTERNAL_TASK_ERROR_THROWN,
                {
                    "external_task": row.id,
                    "element": row.element_id,
                    "topic": row.topic,
                    "worker": worker_id,
                    "code": error_code,
                    "message": error_message,
                    "variables": values,
                },
                row.task_id,
            )
            event = BpmnEvent(ErrorEventDefinition(error_code, code=error_code), payload=values, target=task.workflow)
            with ex.guard():
                task.workflow.top_workflow.catch(event)
            uncaught = [e for e in ex.workflow.bpmn_events if e is event]  # where the library puts what none caught
            if uncaught:
                ex.workflow.bpmn_events.remove(event)  # not thrown further: it is the incident's reason
                ex.fail(
                    ExternalTaskFailed(
                        task,
                        f"external task (topic {row.topic!r}) threw BPMN error {error_code!r}"
                        f"{f' ({error_message})' if error_message else ''}, but no boundary error event catches it: "
                        "add one to the task, or retry",
                    )
                )
            self.runtime._finish(ex)
            return ex.instance.status

    def extend_lock(self, task_pk: int, worker_id: str, new_duration_ms: int, *, actor: str) -> datetime:
        """Lock the task for ``new_duration_ms`` more from now; only its worker, while the lock holds."""
        duration = _duration(new_duration_ms, "new lock duration")
        with self.runtime.unit() as u:
            row = self._held(u, task_pk, worker_id, expired_ok=False)
            ex, _ = self._open(u, row, actor)
            until = u.now + duration
            u.conn.execute(update(_ROWS).where(_ROWS.c.id == row.id).values(lock_expires_at=until))
            ex.record(
                AuditAction.EXTERNAL_TASK_LOCK_EXTENDED,
                {
                    "external_task": row.id,
                    "element": row.element_id,
                    "topic": row.topic,
                    "worker": worker_id,
                    "until": until.isoformat(),
                },
                row.task_id,
            )
            return until

    def unlock(self, task_pk: int, *, actor: str) -> None:
        """Release the task's lock (and any retry timeout): any worker may fetch it at once."""
        with self.runtime.unit() as u:
            row = self._row(u, task_pk)
            ex, _ = self._open(u, row, actor)
            u.conn.execute(update(_ROWS).where(_ROWS.c.id == row.id).values(worker_id=None, lock_expires_at=None))
            ex.record(
                AuditAction.EXTERNAL_TASK_UNLOCKED,
                {"external_task": row.id, "element": row.element_id, "topic": row.topic, "worker": row.worker_id},
                row.task_id,
            )

    # -- helpers ---------------------------------------------------------------------------------------------
    def _row(self, u: Unit, task_pk: int) -> Row[Any]:
        row = u.conn.execute(select(_ROWS).where(_ROWS.c.id == task_pk)).one_or_none()
        if row is None:
            raise NotFound(f"external task {task_pk} does not exist (or is no longer waiting for a worker)")
        return row

    def _held(self, u: Unit, task_pk: int, worker_id: str, *, expired_ok: bool = True) -> Row[Any]:
        """The task's row, which ``worker_id`` must have locked (a lock that expired is still its own as long as
        no other worker fetched the task since)."""
        row = self._row(u, task_pk)
        if row.worker_id is None:
            raise ConflictError(f"external task {task_pk} is not locked: fetch and lock it first")
        if row.worker_id != worker_id:
            raise ConflictError(f"external task {task_pk} is locked by worker {row.worker_id!r}, not {worker_id!r}")
        if not expired_ok and row.lock_expires_at is not None and row.lock_expires_at <= u.now:
            raise ConflictError(f"the lock of worker {worker_id!r} on external task {task_pk} has expired")
        return row

    def _open(self, u: Unit, row: Row[Any], actor: str) -> tuple[Execution, Task]:
        ex = self.runtime._load(u, row.instance_id, actor)
        task = ex.task(row.task_id)
        if task is None or task.state != TaskState.STARTED:
            state = TaskState.get_name(task.state) if task is not None else "missing"
            raise InvalidState(f"external task {row.id} ({row.element_id}) is {state}, not waiting for a worker")
        return ex, task
