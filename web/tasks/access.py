"""Who may see and work a human task, and the web's task operations on top of the engine facade: claim, unclaim,
reassign and delegate (reassign plus a comment saying who delegated), comments, and the next task of an instance.
Leads and admins see every task; staff see the tasks of their groups and the tasks assigned to them."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from flask import abort
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, or_, select

from engine import OPEN_TASK_STATES, AuditAction, in_groups, may_see
from engine.models import HumanTask, HumanTaskGroup
from web.accounts.principal import Principal
from web.context import audited_unit, read_session, record, runtime
from web.models import TaskComment, User, UserGroup

MAX_COMMENT = 5000


class ActionRefused(ValueError):
    """A task operation the web layer refuses before asking the engine; the message says why."""


@dataclass(frozen=True)
class TaskRef:
    """The fields of a human_task row the permission checks and audit entries need."""

    id: int
    name: str
    instance_id: str
    task_id: str
    process_id: str
    customer_id: str | None
    assignee: str | None
    state: str
    groups: frozenset[str]

    @property
    def open(self) -> bool:
        return self.state in OPEN_TASK_STATES


def load(task_pk: int) -> TaskRef | None:
    with read_session() as session:
        row = session.get(HumanTask, task_pk)
        if row is None:
            return None
        groups = session.execute(
            select(HumanTaskGroup.group_name).where(HumanTaskGroup.human_task_id == task_pk)
        ).scalars()
        return TaskRef(
            row.id,
            row.name,
            row.instance_id,
            row.task_id,
            row.process_id,
            row.customer_id,
            row.assignee,
            row.state,
            frozenset(groups),
        )


def can_see(me: Principal, task: TaskRef) -> bool:
    """The engine's rule (``may_see``), so a page never shows a task the facade would refuse."""
    return may_see(user=me.username, groups=me.task_groups(), assignee=task.assignee, task_groups=task.groups)


def visible(me: Principal, task_pk: int) -> TaskRef:
    """The task, or 404 when it does not exist and 403 (saying why) when it is not one ``me`` may see."""
    task = load(task_pk)
    if task is None:
        abort(404, description=_("Task %(id)s does not exist.", id=task_pk))
    if not can_see(me, task):
        abort(
            403,
            description=_(
                "Task %(id)s (%(name)s) belongs to the group(s) %(groups)s; you are not a member of any of them.",
                id=task.id,
                name=task.name,
                groups=", ".join(sorted(task.groups)) or "—",
            ),
        )
    return task


def held_by_other(me: Principal, task: TaskRef) -> bool:
    return task.assignee is not None and task.assignee != me.username


def may_unclaim(me: Principal, task: TaskRef) -> bool:
    """The holder puts a task back in the queue; leads and admins take it back from anyone."""
    return task.open and task.assignee is not None and (task.assignee == me.username or me.sees_all_tasks)


def may_reassign(me: Principal, task: TaskRef) -> bool:
    """Leads and admins hand over any open task; staff only a task they hold."""
    return task.open and (me.sees_all_tasks or task.assignee == me.username)


# -- operations ----------------------------------------------------------------------------------------------
def claim(me: Principal, task: TaskRef) -> None:
    runtime().claim(task.id, actor=me.username, groups=me.task_groups())


def unclaim(me: Principal, task: TaskRef) -> None:
    runtime().unclaim(task.id, actor=me.username, groups=me.task_groups())


def assignable(task_groups: Collection[str]) -> list[tuple[str, str]]:
    """(user name, display name) of the active members of any of ``task_groups``."""
    with read_session() as session:
        rows = session.execute(
            select(User.username, User.display_name)
            .join(UserGroup, UserGroup.user_id == User.id)
            .where(UserGroup.group_name.in_(sorted(task_groups)), User.active.is_(True))
            .distinct()
            .order_by(User.username)
        )
        return [(username, display or username) for username, display in rows]


def check_reassign(me: Principal, task: TaskRef, target: str) -> None:
    """``may_reassign``, and the new assignee is an active member of one of the task's groups."""
    if not target:
        raise ActionRefused(_("Choose the person to hand the task to."))
    if not task.open:
        raise ActionRefused(_("Task %(id)s (%(name)s) is %(state)s.", id=task.id, name=task.name, state=task.state))
    if not may_reassign(me, task):
        raise ActionRefused(
            _("Task %(id)s (%(name)s): you can reassign only a task you hold.", id=task.id, name=task.name)
        )
    if target == task.assignee:
        raise ActionRefused(_("Task %(id)s is already assigned to %(user)s.", id=task.id, user=target))
    if target not in {username for username, _display in assignable(task.groups)}:
        raise ActionRefused(
            _(
                "%(user)s is not an active member of the task's group(s) %(groups)s.",
                user=target,
                groups=", ".join(sorted(task.groups)) or "—",
            )
        )


def reassign(me: Principal, task: TaskRef, target: str) -> None:
    check_reassign(me, task, target)
    runtime().assign(task.id, target, actor=me.username, groups=me.task_groups())


def delegate(me: Principal, task: TaskRef, target: str, note: str) -> None:
    """Reassign, then keep a comment saying who delegated to whom and why."""
    reassign(me, task, target)
    text = _("Delegated by %(by)s to %(to)s.", by=me.username, to=target)
    add_comment(me, task, f"{text} {note.strip()}".strip())


def add_comment(me: Principal, task: TaskRef, body: str) -> None:
    body = body.strip()
    if not body:
        raise ActionRefused(_("Comment: write something first."))
    if len(body) > MAX_COMMENT:
        raise ActionRefused(_("Comment: at most %(n)s characters.", n=MAX_COMMENT))
    with audited_unit() as u:
        u.session.add(
            TaskComment(
                human_task_id=task.id, instance_id=task.instance_id, author=me.username, body=body, created_at=u.now
            )
        )
        record(
            u,
            AuditAction.TASK_COMMENTED,
            {"task": task.id, "name": task.name, "before": None, "after": {"body": body}},
            process_id=task.process_id,
            instance_id=task.instance_id,
            task_id=task.task_id,
            customer_id=task.customer_id,
        )


def comments(task_pk: int) -> list[TaskComment]:
    with read_session() as session:
        return list(
            session.execute(
                select(TaskComment).where(TaskComment.human_task_id == task_pk).order_by(TaskComment.id)
            ).scalars()
        )


def next_task(me: Principal, instance_id: str) -> HumanTask | None:
    """An open task of the instance that ``me`` can work now: assigned to them, or unclaimed in their groups."""
    with read_session() as session:
        workable: ColumnElement[bool] = HumanTask.assignee == me.username
        unclaimed: ColumnElement[bool] = HumanTask.assignee.is_(None)
        if not me.sees_all_tasks:
            unclaimed = unclaimed & in_groups(me.groups)
        return session.execute(
            select(HumanTask)
            .where(
                HumanTask.instance_id == instance_id, HumanTask.state.in_(OPEN_TASK_STATES), or_(workable, unclaimed)
            )
            .order_by(HumanTask.assignee.is_(None), HumanTask.priority.desc(), HumanTask.id)
            .limit(1)
        ).scalar_one_or_none()


def back_to(target: str | None, default: str) -> str:
    """``target`` when it is a path on this site (after an action: back where the form was), else ``default``."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default
