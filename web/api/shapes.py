"""The JSON shapes the API answers with (described in openapi.py): tasks, form fields, instances, audit events."""

from __future__ import annotations

import json
from typing import Any

from engine.forms import Field
from engine.models import AuditEvent, HumanTask
from web.api.base import iso


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


def event(row: AuditEvent) -> dict[str, Any]:
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
