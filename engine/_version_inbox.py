"""The inbox rows of an instance's open human tasks after it moved to another version (engine/_versions.py): they
follow the new version where it changed what a row derives from its element."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from SpiffWorkflow.specs.base import TaskSpec
from sqlalchemy import Connection, delete, insert, select, update

from engine import _open_groups as open_groups
from engine._dialects import PRIORITY
from engine._enums import OPEN_TASK_STATES
from engine._execution import ACTIVE, Execution, ready_human_tasks, sla_moments, task_roles
from engine.models import HumanTask, HumanTaskGroup, core


def _derived(spec: TaskSpec, data: Mapping[str, Any], created_at: datetime, default_group: str) -> dict[str, Any]:
    ext: Mapping[str, str] = getattr(spec, "extensions", None) or {}
    groups, _ = task_roles(ext, spec.lane, data, default_group)
    due, warn, stuck = sla_moments(ext, created_at)
    try:
        priority = int(ext.get(PRIORITY) or 50)
    except ValueError:
        priority = 50
    return {
        "name": spec.bpmn_name or spec.bpmn_id or spec.name,
        "candidate_groups": ",".join(groups),
        "priority": priority,
        "due_at": due,
        "warn_at": warn,
        "stuck_at": stuck,
    }


def follow_open_tasks(
    conn: Connection, ex: Execution, old_specs: Mapping[str, TaskSpec], default_group: str
) -> list[dict[str, Any]]:
    """Update the inbox rows of the instance's open human tasks where the new version changed what the row
    derives from the element (name, candidate groups, priority, SLA moments from the task's creation); what a
    person changed on the row (assignee, a priority the model did not change) is kept. Returns what changed."""
    ready = ready_human_tasks(ex.workflow.get_tasks(state=ACTIVE))
    table = core(HumanTask)
    rows = conn.execute(
        select(table).where(table.c.instance_id == ex.instance.id, table.c.state.in_(OPEN_TASK_STATES))
    ).all()
    changed = []
    for row in rows:
        task = ready.get(row.task_id)
        old_spec = old_specs.get(row.task_id)
        if task is None or old_spec is None:
            continue
        before = _derived(old_spec, task.data, row.created_at, default_group)
        after = _derived(task.task_spec, task.data, row.created_at, default_group)
        values = {key: after[key] for key in after if after[key] != before[key]}
        if not values:
            continue
        conn.execute(update(table).where(table.c.id == row.id).values(**values))
        if "candidate_groups" in values:
            groups = [g for g in values["candidate_groups"].split(",") if g]
            conn.execute(delete(HumanTaskGroup).where(HumanTaskGroup.human_task_id == row.id))
            if groups:
                conn.execute(insert(HumanTaskGroup), [{"human_task_id": row.id, "group_name": g} for g in groups])
        _follow_open_groups(conn, row.id, values)
        changed.append(
            {
                "task": row.id,
                "element": row.element_id,
                "before": {key: _plain(getattr(row, key)) for key in values},
                "after": {key: _plain(value) for key, value in values.items()},
            }
        )
    return changed


def _follow_open_groups(conn: Connection, task_pk: int, values: Mapping[str, Any]) -> None:
    """Keep ``open_task_group`` (the open tasks' group queue, engine._open_groups) in step with the row."""
    if not {"candidate_groups", "due_at", "priority"} & values.keys():
        return
    table = core(HumanTask)
    row = conn.execute(
        select(table.c.candidate_groups, table.c.due_at, table.c.priority).where(table.c.id == task_pk)
    ).one()
    open_groups.remove(conn, [task_pk])
    open_groups.add(conn, task_pk, [g for g in row.candidate_groups.split(",") if g], row.due_at, row.priority)


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value
