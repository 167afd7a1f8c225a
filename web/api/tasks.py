"""Human tasks: list (mine, my groups' queue, all), read one with its form, claim, unclaim, assign, complete.

The pages' rules (web.task_access): staff reach the tasks of their groups and those assigned to them, leads and
admins every task; the engine applies the same rule to each change through ``groups=me().task_groups()``."""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from engine.errors import PermissionDenied
from engine.models import HumanTask
from web import task_access
from web.api import shapes
from web.api.base import InvalidInput, Reader, bp, json_body
from web.context import me, read_session, runtime
from web.inbox_query import in_groups
from web.permissions import WORK_TASKS, requires

VIEWS = ("mine", "group", "all")


@bp.get("/tasks")
@requires(*WORK_TASKS)
def list_tasks() -> ResponseReturnValue:
    args = Reader(request.args, ("view", "process", "customer", "instance", "limit"))
    view = args.choice("view", VIEWS, "mine")
    process, customer, instance = args.text("process"), args.text("customer"), args.text("instance", max_length=36)
    limit = args.integer("limit", default=100, low=1, high=500)
    args.done()
    principal = me()
    query = select(HumanTask).where(HumanTask.state.in_(task_access.OPEN))
    if view == "mine":
        query = query.where(HumanTask.assignee == principal.username)
    elif view == "group":
        query = query.where(in_groups(sorted(principal.groups)))
    elif not principal.sees_all_tasks:
        raise PermissionDenied(f"view=all is for leads and admins; {principal.username} may use mine or group")
    if process:
        query = query.where(HumanTask.process_id == process)
    if customer:
        query = query.where(HumanTask.customer_id == customer)
    if instance:
        query = query.where(HumanTask.instance_id == instance)
    query = query.order_by(HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.priority.desc(), HumanTask.id)
    query = query.limit(limit)
    with read_session() as session:
        rows = session.execute(query).scalars().all()
    return jsonify({"view": view, "tasks": [shapes.task(row) for row in rows]})


@bp.get("/tasks/<int:task_id>")
@requires(*WORK_TASKS)
def get_task(task_id: int) -> ResponseReturnValue:
    task_access.visible(me(), task_id)
    view = runtime().task_view(task_id)
    return jsonify(
        {
            **shapes.task(view.row),
            "fields": [shapes.field(f) for f in view.fields],
            "data": view.data,
        }
    )


def _no_body_fields() -> None:
    Reader(json_body(), ()).done()


@bp.post("/tasks/<int:task_id>/claim")
@requires(*WORK_TASKS)
def claim(task_id: int) -> ResponseReturnValue:
    _no_body_fields()
    principal = me()
    runtime().claim(task_id, actor=principal.username, groups=principal.task_groups())
    return jsonify({"id": task_id, "status": "claimed", "assignee": principal.username})


@bp.post("/tasks/<int:task_id>/unclaim")
@requires(*WORK_TASKS)
def unclaim(task_id: int) -> ResponseReturnValue:
    _no_body_fields()
    principal = me()
    runtime().unclaim(task_id, actor=principal.username, groups=principal.task_groups())
    return jsonify({"id": task_id, "status": "ready", "assignee": None})


@bp.post("/tasks/<int:task_id>/assign")
@requires(*WORK_TASKS)
def assign(task_id: int) -> ResponseReturnValue:
    """The pages' rule: leads and admins hand any open task to a member of its groups; staff only a task they hold."""
    body = Reader(json_body(), ("assignee",))
    assignee = body.text("assignee", required=True, max_length=100)
    body.done()
    principal = me()
    task = task_access.visible(principal, task_id)
    if task.open:
        try:
            task_access.check_reassign(principal, task, str(assignee))
        except task_access.ActionRefused as exc:
            raise InvalidInput({"assignee": str(exc)}) from None
    runtime().assign(task_id, str(assignee), actor=principal.username, groups=principal.task_groups())
    return jsonify({"id": task_id, "status": "claimed", "assignee": assignee})


@bp.post("/tasks/<int:task_id>/complete")
@requires(*WORK_TASKS)
def complete(task_id: int) -> ResponseReturnValue:
    body = Reader(json_body(), ("data",))
    data = body.mapping("data")
    body.done()
    principal = me()
    status = runtime().complete(task_id, actor=principal.username, data=data, groups=principal.task_groups())
    return jsonify({"id": task_id, "status": "completed", "instance_status": status})
