"""Who holds a human task: the access check every task operation starts with, and claim, unclaim and assign.

These work on the ``human_task`` row alone, with Core statements built once (this is on every task operation's
path, see engine._dml): the row is read with its instance's row version, so completing can check out a kept
workflow without reading the instance again (engine._live).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from SpiffWorkflow.task import Task
from sqlalchemy import Row, bindparam, select

from engine import _alerts as alerts
from engine import _audit as audit
from engine import _forms as forms
from engine._dml import Prepared
from engine._enums import AuditAction, TaskState
from engine._errors import ConflictError, FieldError, InvalidState, NotFound, PermissionDenied
from engine._unit import Unit
from engine._visibility import group_list, may_see
from engine.models import HumanTask, ProcessInstance, core

TASK = core(HumanTask)
_INSTANCE = core(ProcessInstance)
TASK_ROW = (
    select(TASK, _INSTANCE.c.version.label("instance_version"))
    .join(_INSTANCE, _INSTANCE.c.id == TASK.c.instance_id)
    .where(TASK.c.id == bindparam("b_id"))
)
SET_TASK = Prepared(TASK.update().where(TASK.c.id == bindparam("b_id")))  # SET: the columns of the parameters given
# the same, returning when the sweep first raised an alert on the task, None if it never did (see engine._alerts)
CLOSE_TASK = Prepared(TASK.update().where(TASK.c.id == bindparam("b_id")).returning(alerts.ALERTED))


def open_task(u: Unit, task_pk: int, groups: Collection[str] | None, actor: str) -> Row[Any]:
    """The task's row and its instance's version, once ``actor`` (member of ``groups``; ``None``: a lead) may
    see it (engine._visibility) and it is still open."""
    row = u.conn.execute(TASK_ROW, {"b_id": task_pk}).one_or_none()
    if row is None:
        raise NotFound(f"task {task_pk} does not exist")
    if not may_see(user=actor, groups=groups, assignee=row.assignee, task_groups=group_list(row.candidate_groups)):
        raise PermissionDenied(
            f"task {task_pk} ({row.name}) belongs to {row.candidate_groups or 'no group'}, not to a group of {actor}"
        )
    if row.state == TaskState.COMPLETED:
        raise ConflictError(
            f"task {task_pk} ({row.name}) was already completed by {row.completed_by} "
            f"at {row.completed_at:%Y-%m-%d %H:%M}"
        )
    if row.state == TaskState.CANCELLED:
        raise InvalidState(f"task {task_pk} ({row.name}) was cancelled")
    return row


def claim(u: Unit, row: Row[Any], actor: str) -> None:
    """``actor`` takes the ready task; whoever got there first keeps it (the UPDATE matches no row then)."""
    changed = u.conn.execute(
        TASK.update()
        .where(TASK.c.id == row.id, TASK.c.assignee.is_(None), TASK.c.state == TaskState.READY)
        .values(assignee=actor, state=TaskState.CLAIMED, claimed_at=u.now)
    ).rowcount
    if changed != 1:
        holder = u.conn.execute(select(TASK.c.assignee).where(TASK.c.id == row.id)).scalar()
        raise ConflictError(f"task {row.id} ({row.name}) is already claimed by {holder}")
    record(u, row, actor, AuditAction.TASK_CLAIMED, {"before": {"assignee": None}, "after": {"assignee": actor}})


def unclaim(u: Unit, row: Row[Any], actor: str, groups: Collection[str] | None) -> None:
    """Put the task back in its groups' queue: by its holder, or by a lead (``groups`` is ``None``)."""
    if row.assignee is None:
        raise InvalidState(f"task {row.id} ({row.name}) is not claimed")
    if groups is not None and row.assignee != actor:
        raise PermissionDenied(f"task {row.id} is claimed by {row.assignee}; only they or a lead can release it")
    SET_TASK.run(u.conn, {"b_id": row.id, "assignee": None, "state": TaskState.READY, "claimed_at": None})
    record(
        u, row, actor, AuditAction.TASK_UNCLAIMED, {"before": {"assignee": row.assignee}, "after": {"assignee": None}}
    )


def assign(u: Unit, row: Row[Any], assignee: str, actor: str) -> None:
    """Give the task to ``assignee``; a task already held keeps the moment it was first claimed."""
    before = row.assignee
    claimed_at = row.claimed_at if before else u.now
    SET_TASK.run(u.conn, {"b_id": row.id, "assignee": assignee, "state": TaskState.CLAIMED, "claimed_at": claimed_at})
    record(u, row, actor, AuditAction.TASK_ASSIGNED, {"before": {"assignee": before}, "after": {"assignee": assignee}})


def record(u: Unit, row: Row[Any], actor: str, action: AuditAction, payload: dict[str, Any]) -> None:
    """Audit an assignment change of the task ``row``."""
    audit.append(
        u.conn,
        at=u.now,
        actor=actor,
        action=action,
        process_id=row.process_id,
        instance_id=row.instance_id,
        task_id=row.task_id,
        customer_id=row.customer_id,
        payload={"task": row.id, "element": row.element_id, "name": row.name, **payload},
    )


def missing_outputs(task: Task, submitted: Mapping[str, Any]) -> list[FieldError]:
    """The data outputs of a human task that neither ``submitted`` nor its data holds, and that the person
    completing it can supply (a field of its form, or any value when it has no form). One the form cannot
    supply is left to fail when the task completes: an incident a lead retries with the value."""
    spec = task.task_spec
    io = getattr(spec, "io_specification", None)
    outputs = [*getattr(spec, "data_output_associations", []), *(io.data_outputs if io is not None else [])]
    fields = {f.id for f in forms.fields_of(spec)}
    return [
        FieldError(name, f"is required: the task writes it to data output {name!r} when it completes")
        for name in dict.fromkeys(output.bpmn_id for output in outputs)
        if name not in submitted and name not in task.data and (not fields or name in fields)
    ]
