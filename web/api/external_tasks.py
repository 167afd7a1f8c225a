"""External tasks, modelled on Camunda 7's external-task API (docs/external-tasks.md): workers fetch and lock the
tasks of their topics, then complete them, report a failure or throw a BPMN error; a lock may be extended or
released. Staff, leads and admins (a worker's API token belongs to one of them). Every change is audited."""

from __future__ import annotations

from typing import Annotated, Any

from flask import jsonify
from flask.typing import ResponseReturnValue
from pydantic import Field

from engine import MAX_LOCK_MS, ExternalTaskView, TopicRequest
from web.accounts.permissions import WORK_TASKS
from web.api.declare import Body, NoFields, Query, Response, Shape, When, Whole, operation, text
from web.context import me, runtime

WORKER = 100  # the worker id's length: external_task.worker_id


def worker_id() -> Any:
    return text(WORKER, "the worker's id: the one that locked the task must complete it", required=True)


class ExternalTaskQuery(Query):
    topic: str | None = text(200, "only this topic's tasks")
    limit: int = Field(100, ge=1, le=500, description="at most this many, oldest first")


class ExternalTask(Shape):
    id: int
    topic: str
    instance_id: str
    process_id: str
    element_id: str = Field(description="the BPMN id of the service, send or business rule task")
    customer_id: str | None
    worker_id: str | None = Field(description="who holds the lock (null: nobody)")
    lock_expires_at: When | None = Field(description="when the lock (or the retry timeout after a failure) ends")
    retries: int | None = Field(description="retries left, as the last failure said (null: no failure yet)")
    error_message: str | None
    created_at: When


class LockedExternalTask(ExternalTask):
    variables: dict[str, Any] = Field(description="the task's data (only the names asked for, when given)")


class ExternalTaskList(Shape):
    tasks: list[ExternalTask]


class LockedList(Shape):
    tasks: list[LockedExternalTask]


class FetchTopic(Body):
    topic_name: str = text(200, "a topic (camunda:topic, or zeebe:taskDefinition type)", required=True)
    lock_duration: Whole = Field(ge=0, le=MAX_LOCK_MS, description="how long the tasks stay locked, in milliseconds")
    variables: list[Annotated[str, Field(min_length=1, max_length=200)]] | None = Field(
        None, max_length=100, description="the variables to return (null: all)"
    )


class FetchAndLock(Body):
    worker_id: str = worker_id()
    max_tasks: Whole = Field(ge=1, le=100, description="at most this many tasks")
    topics: list[FetchTopic] = Field(min_length=1, max_length=20)


class CompleteExternal(Body):
    worker_id: str = worker_id()
    variables: dict[str, Any] = Field(default_factory=dict, description="merged into the task's data")


class FailureReport(Body):
    worker_id: str = worker_id()
    error_message: str = text(2000, "what went wrong (shown on the incident)", required=True)
    error_details: str | None = Field(None, max_length=20000, description="e.g. a stack trace (audited)")
    retries: Whole = Field(ge=0, le=1000, description="retries left; 0 raises an incident")
    retry_timeout: Whole = Field(0, ge=0, le=MAX_LOCK_MS, description="milliseconds before it may be fetched again")


class BpmnErrorReport(Body):
    worker_id: str = worker_id()
    error_code: str = text(200, "matched against the errorCode of the task's boundary error events", required=True)
    error_message: str | None = Field(None, max_length=2000)
    variables: dict[str, Any] = Field(default_factory=dict, description="given to the boundary event's path")


class ExtendLock(Body):
    worker_id: str = worker_id()
    new_duration: Whole = Field(ge=0, le=MAX_LOCK_MS, description="the lock ends this many milliseconds from now")


class ExternalDone(Shape):
    id: int
    instance_status: str = Field(description="the instance's status after the change")


class LockExtended(Shape):
    id: int
    lock_expires_at: When


class Unlocked(Shape):
    id: int


ERRORS = (404, 409)


def as_json(task: ExternalTaskView) -> dict[str, Any]:
    found = {
        "id": task.id,
        "topic": task.topic,
        "instance_id": task.instance_id,
        "process_id": task.process_id,
        "element_id": task.element_id,
        "customer_id": task.customer_id,
        "worker_id": task.worker_id,
        "lock_expires_at": task.lock_expires_at.isoformat() if task.lock_expires_at else None,
        "retries": task.retries,
        "error_message": task.error_message,
        "created_at": task.created_at.isoformat(),
    }
    if task.variables is not None:
        found["variables"] = task.variables
    return found


@operation(
    "get",
    "/external-tasks",
    summary="External tasks waiting for a worker",
    roles=WORK_TASKS,
    query=ExternalTaskQuery,
    ok=Response(200, ExternalTaskList, "The tasks, oldest first"),
)
def list_external_tasks(query: ExternalTaskQuery) -> ResponseReturnValue:
    found = runtime().external.waiting(topic=query.topic, limit=query.limit)
    return jsonify({"tasks": [as_json(task) for task in found]})


@operation(
    "post",
    "/external-tasks/fetch-and-lock",
    summary="Fetch and lock external tasks by topic",
    roles=WORK_TASKS,
    body=FetchAndLock,
    ok=Response(200, LockedList, "The tasks locked for the worker (possibly none), with their variables"),
    description="Tasks nobody holds (never locked, lock expired, retry timeout over), oldest first. Each lock is "
    "audited as external_task_locked.",
)
def external_fetch_and_lock(body: FetchAndLock) -> ResponseReturnValue:
    topics = [TopicRequest(t.topic_name, t.lock_duration, t.variables) for t in body.topics]
    locked = runtime().external.fetch_and_lock(body.worker_id, topics, max_tasks=body.max_tasks, actor=me().username)
    return jsonify({"tasks": [as_json(task) for task in locked]})


@operation(
    "post",
    "/external-tasks/<int:task_id>/complete",
    summary="Complete an external task with variables",
    roles=WORK_TASKS,
    body=CompleteExternal,
    ok=Response(200, ExternalDone, "Completed; the process went on"),
    errors=ERRORS,
    description="Only the worker holding the lock (409 otherwise). Audited as external_task_completed.",
)
def external_complete(task_id: int, body: CompleteExternal) -> ResponseReturnValue:
    status = runtime().external.complete(task_id, body.worker_id, body.variables, actor=me().username)
    return jsonify({"id": task_id, "instance_status": status})


@operation(
    "post",
    "/external-tasks/<int:task_id>/failure",
    summary="Report that an external task failed",
    roles=WORK_TASKS,
    body=FailureReport,
    ok=Response(200, ExternalDone, "Recorded: fetchable again after the retry timeout, or an incident"),
    errors=ERRORS,
    description="With retries left the task is released and may be fetched after retry_timeout ms; with 0 the "
    "instance goes to incident (retrying the instance runs the task again). Audited as external_task_failed.",
)
def external_failure(task_id: int, body: FailureReport) -> ResponseReturnValue:
    status = runtime().external.failure(
        task_id,
        body.worker_id,
        body.error_message,
        retries=body.retries,
        retry_timeout_ms=body.retry_timeout,
        error_details=body.error_details,
        actor=me().username,
    )
    return jsonify({"id": task_id, "instance_status": status})


@operation(
    "post",
    "/external-tasks/<int:task_id>/bpmn-error",
    summary="Throw a BPMN error from an external task",
    roles=WORK_TASKS,
    body=BpmnErrorReport,
    ok=Response(200, ExternalDone, "Thrown: a boundary error event took over, or (none catching it) an incident"),
    errors=ERRORS,
    description="Audited as external_task_error_thrown.",
)
def external_bpmn_error(task_id: int, body: BpmnErrorReport) -> ResponseReturnValue:
    status = runtime().external.bpmn_error(
        task_id,
        body.worker_id,
        body.error_code,
        error_message=body.error_message,
        variables=body.variables,
        actor=me().username,
    )
    return jsonify({"id": task_id, "instance_status": status})


@operation(
    "post",
    "/external-tasks/<int:task_id>/extend-lock",
    summary="Extend the lock on an external task",
    roles=WORK_TASKS,
    body=ExtendLock,
    ok=Response(200, LockExtended, "The lock's new end"),
    errors=ERRORS,
    description="Only the worker holding a lock that has not expired. Audited as external_task_lock_extended.",
)
def external_extend_lock(task_id: int, body: ExtendLock) -> ResponseReturnValue:
    until = runtime().external.extend_lock(task_id, body.worker_id, body.new_duration, actor=me().username)
    return jsonify({"id": task_id, "lock_expires_at": until.isoformat()})


@operation(
    "post",
    "/external-tasks/<int:task_id>/unlock",
    summary="Release the lock on an external task",
    roles=WORK_TASKS,
    body=NoFields,
    ok=Response(200, Unlocked, "Released: any worker may fetch it now"),
    errors=ERRORS,
    description="Audited as external_task_unlocked.",
)
def external_unlock(task_id: int, body: NoFields) -> ResponseReturnValue:
    runtime().external.unlock(task_id, actor=me().username)
    return jsonify({"id": task_id})
