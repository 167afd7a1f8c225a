"""Human tasks: list (mine, my groups' queue, all), read one with its form, claim, unclaim, assign, complete.

The pages' rules (web.tasks.access): staff reach the tasks of their groups and those assigned to them, leads and
admins every task; the engine applies the same rule to each change through ``groups=me().task_groups()``."""

from __future__ import annotations

from typing import Any, Literal

from flask import jsonify
from flask.typing import ResponseReturnValue
from pydantic import Field
from sqlalchemy import select

from engine import OPEN_TASK_STATES, PermissionDenied, TaskState, in_groups
from engine.models import HumanTask
from web.accounts.permissions import WORK_TASKS
from web.api import shapes
from web.api.base import InvalidInput
from web.api.declare import Body, NoFields, Query, Response, Shape, operation, text
from web.context import me, read_session, runtime
from web.tasks import access

# "groups" is the view's name, as on the inbox page; "group" (its first name) stays accepted for existing clients.
View = Literal["mine", "groups", "group", "all"]
DEPRECATED_VIEWS = {"group": "groups"}


class TaskQuery(Query):
    view: View = Field(
        "mine",
        description="mine: assigned to me; groups: open in my groups; all: every open task (leads, admins). "
        "group: deprecated name of groups",
    )
    process: str | None = text(200, "process id")
    customer: str | None = text(64, "customer id")
    instance: str | None = text(36, "instance id")
    limit: int = Field(100, ge=1, le=500, description="at most this many")


class TaskList(Shape):
    view: View = Field(description="the view asked for")
    tasks: list[shapes.Task]


class TaskDetail(shapes.Task):
    fields: list[shapes.FormField]
    data: dict[str, Any] = Field(description="the task's current data")


class TaskAction(Shape):
    id: int
    status: str = Field(description="the task's new state")
    assignee: str | None = None
    instance_status: str | None = Field(None, description="after complete: the instance's new status")


class AssignRequest(Body):
    assignee: str = text(100, "user name of an active member of the task's groups", required=True)


class CompleteRequest(Body):
    data: dict[str, Any] = Field(default_factory=dict, description="form field id -> value; checked against the form")


DONE = Response(200, TaskAction, "Done")
ACTION_ERRORS = (404, 409)


@operation(
    "get",
    "/tasks",
    summary="Open tasks",
    roles=WORK_TASKS,
    query=TaskQuery,
    ok=Response(200, TaskList, "Open tasks, soonest due first, then highest priority"),
    description="Staff may use the views mine and groups; leads and admins every view.",
)
def list_tasks(query: TaskQuery) -> ResponseReturnValue:
    principal = me()
    view = DEPRECATED_VIEWS.get(query.view, query.view)
    found = select(HumanTask).where(HumanTask.state.in_(OPEN_TASK_STATES))
    if view == "mine":
        found = found.where(HumanTask.assignee == principal.username)
    elif view == "groups":
        found = found.where(in_groups(principal.groups))
    elif not principal.sees_all_tasks:
        raise PermissionDenied(f"view=all is for leads and admins; {principal.username} may use mine or groups")
    if query.process:
        found = found.where(HumanTask.process_id == query.process)
    if query.customer:
        found = found.where(HumanTask.customer_id == query.customer)
    if query.instance:
        found = found.where(HumanTask.instance_id == query.instance)
    found = found.order_by(HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.priority.desc(), HumanTask.id)
    with read_session() as session:
        rows = session.execute(found.limit(query.limit)).scalars().all()
    return jsonify({"view": query.view, "tasks": [shapes.task(row) for row in rows]})


@operation(
    "get",
    "/tasks/<int:task_id>",
    summary="A task with its form fields and data",
    roles=WORK_TASKS,
    ok=Response(200, TaskDetail, "The task"),
)
def get_task(task_id: int) -> ResponseReturnValue:
    access.visible(me(), task_id)
    view = runtime().task_view(task_id)
    return jsonify(
        {
            **shapes.task(view.row),
            "fields": [shapes.field(f) for f in view.fields],
            "data": view.data,
        }
    )


@operation(
    "post",
    "/tasks/<int:task_id>/claim",
    summary="Claim a task",
    roles=WORK_TASKS,
    body=NoFields,
    ok=DONE,
    errors=ACTION_ERRORS,
)
def claim(task_id: int, body: NoFields) -> ResponseReturnValue:
    principal = me()
    runtime().claim(task_id, actor=principal.username, groups=principal.task_groups())
    return jsonify({"id": task_id, "status": TaskState.CLAIMED, "assignee": principal.username})


@operation(
    "post",
    "/tasks/<int:task_id>/unclaim",
    summary="Release a claimed task (its assignee, a lead or an admin)",
    roles=WORK_TASKS,
    body=NoFields,
    ok=DONE,
    errors=ACTION_ERRORS,
)
def unclaim(task_id: int, body: NoFields) -> ResponseReturnValue:
    principal = me()
    runtime().unclaim(task_id, actor=principal.username, groups=principal.task_groups())
    return jsonify({"id": task_id, "status": TaskState.READY, "assignee": None})


@operation(
    "post",
    "/tasks/<int:task_id>/assign",
    summary="Hand a task to an active member of its groups (staff: only a task they hold)",
    roles=WORK_TASKS,
    body=AssignRequest,
    ok=DONE,
    errors=ACTION_ERRORS,
)
def assign(task_id: int, body: AssignRequest) -> ResponseReturnValue:
    """The pages' rule: leads and admins hand any open task to a member of its groups; staff only a task they hold."""
    principal = me()
    task = access.visible(principal, task_id)
    if task.open:
        try:
            access.check_reassign(principal, task, body.assignee)
        except access.ActionRefused as exc:
            raise InvalidInput({"assignee": str(exc)}) from None
    runtime().assign(task_id, body.assignee, actor=principal.username, groups=principal.task_groups())
    return jsonify({"id": task_id, "status": TaskState.CLAIMED, "assignee": body.assignee})


@operation(
    "post",
    "/tasks/<int:task_id>/complete",
    summary="Complete a task with its form data",
    roles=WORK_TASKS,
    body=CompleteRequest,
    ok=DONE,
    errors=ACTION_ERRORS,
)
def complete(task_id: int, body: CompleteRequest) -> ResponseReturnValue:
    principal = me()
    status = runtime().complete(task_id, actor=principal.username, data=body.data, groups=principal.task_groups())
    return jsonify({"id": task_id, "status": TaskState.COMPLETED, "instance_status": status})
