"""The JSON shapes the API answers with, declared (the OpenAPI document's schemas) and built from the rows: tasks,
form fields, audit events."""

from __future__ import annotations

import json
from typing import Any

from pydantic import Field as Described

from engine import Field, TaskState
from engine.models import AuditEvent as AuditRow
from engine.models import HumanTask
from web.api.base import iso
from web.api.declare import Shape, When


class Task(Shape):
    id: int
    name: str
    element_id: str
    process_id: str
    instance_id: str
    customer_id: str | None
    candidate_groups: list[str]
    assignee: str | None
    priority: int
    state: TaskState
    created_at: When
    claimed_at: When | None
    due_at: When | None
    completed_at: When | None
    completed_by: str | None


class FormOption(Shape):
    id: str
    name: str


class FormField(Shape):
    id: str
    label: str
    type: str = Described(description="string, long, boolean, date or enum")
    required: bool
    default: str | None
    constraints: dict[str, str | None] = Described(
        description="Camunda constraints: required, readonly, minlength, maxlength, min, max, pattern"
    )
    options: list[FormOption]


class AuditEvent(Shape):
    seq: int
    at: When
    actor: str
    action: str
    process_id: str | None
    instance_id: str | None
    task_id: str | None
    customer_id: str | None
    payload: dict[str, Any] = Described(description="before/after values; a tombstone when redacted")
    redacted: bool
    hash: str
    prev_hash: str


def task(row: HumanTask) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "element_id": row.element_id,
        "process_id": row.process_id,
        "instance_id": row.instance_id,
        "customer_id": row.customer_id,
        "candidate_groups": [g for g in row.candidate_groups.split(",") if g],
        "assignee": row.assignee,
        "priority": row.priority,
        "state": row.state,
        "created_at": iso(row.created_at),
        "claimed_at": iso(row.claimed_at),
        "due_at": iso(row.due_at),
        "completed_at": iso(row.completed_at),
        "completed_by": row.completed_by,
    }


def field(item: Field) -> dict[str, Any]:
    return {
        "id": item.id,
        "label": item.label,
        "type": item.type,
        "required": item.required,
        "default": item.default or None,
        "constraints": item.constraints,
        "options": [{"id": option, "name": name} for option, name in item.options],
    }


def event(row: AuditRow) -> dict[str, Any]:
    return {
        "seq": row.seq,
        "at": iso(row.at),
        "actor": row.actor,
        "action": row.action,
        "process_id": row.process_id,
        "instance_id": row.instance_id,
        "task_id": row.task_id,
        "customer_id": row.customer_id,
        "payload": json.loads(row.payload),
        "redacted": row.redacted,
        "hash": row.hash,
        "prev_hash": row.prev_hash,
    }
