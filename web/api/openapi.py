"""GET /api/v1/openapi.json: the OpenAPI 3.1 description of every API route (a test keeps it true)."""

from __future__ import annotations

from functools import cache
from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue

from web.api.base import bp
from web.api.tasks import VIEWS

JsonDict = dict[str, Any]


def _ref(name: str) -> JsonDict:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(kind: str, **extra: Any) -> JsonDict:
    return {"type": [kind, "null"], **extra}


def _object(properties: JsonDict, required: tuple[str, ...] | None = None, **extra: Any) -> JsonDict:
    """An object schema; every property is required unless ``required`` names the ones that are."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties if required is None else required),
        **extra,
    }


STRING, INTEGER, BOOLEAN, OBJECT = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}, {"type": "object"}
WHEN = _nullable("string", format="date-time")

TASK: JsonDict = {
    "id": INTEGER,
    "name": STRING,
    "element_id": STRING,
    "process_id": STRING,
    "instance_id": STRING,
    "customer_id": _nullable("string"),
    "candidate_groups": {"type": "array", "items": STRING},
    "assignee": _nullable("string"),
    "priority": INTEGER,
    "state": {"type": "string", "enum": ["ready", "claimed", "completed", "cancelled"]},
    "created_at": {"type": "string", "format": "date-time"},
    "claimed_at": WHEN,
    "due_at": WHEN,
    "completed_at": WHEN,
    "completed_by": _nullable("string"),
}

SCHEMAS: JsonDict = {
    "Error": _object(
        {
            "error": STRING,
            "message": STRING,
            "fields": {
                "type": "object",
                "additionalProperties": STRING,
                "description": "field name -> what is wrong with it",
            },
        },
        ("error", "message"),
    ),
    "Task": _object(TASK),
    "FormField": _object(
        {
            "id": STRING,
            "label": STRING,
            "type": {"type": "string", "description": "string, long, boolean, date or enum"},
            "required": BOOLEAN,
            "default": _nullable("string"),
            "constraints": {
                "type": "object",
                "additionalProperties": _nullable("string"),
                "description": "Camunda constraints: required, readonly, minlength, maxlength, min, max, pattern",
            },
            "options": {"type": "array", "items": _object({"id": STRING, "name": STRING})},
        }
    ),
    "TaskDetail": _object(
        {
            **TASK,
            "fields": {"type": "array", "items": _ref("FormField")},
            "data": {**OBJECT, "description": "the task's current data"},
        }
    ),
    "TaskList": _object(
        {"view": {"type": "string", "enum": list(VIEWS)}, "tasks": {"type": "array", "items": _ref("Task")}}
    ),
    "TaskAction": _object(
        {
            "id": INTEGER,
            "status": {"type": "string", "description": "the task's new state"},
            "assignee": _nullable("string"),
            "instance_status": {"type": "string", "description": "after complete: the instance's new status"},
        },
        ("id", "status"),
    ),
    "AssignRequest": _object(
        {"assignee": {"type": "string", "description": "user name of an active member of the task's groups"}}
    ),
    "CompleteRequest": _object(
        {"data": {**OBJECT, "description": "form field id -> value; checked against the task's form"}}, ()
    ),
    "StartRequest": _object(
        {
            "process_id": {"type": "string", "description": "id of a deployed process (its latest version runs)"},
            "customer_id": _nullable("string"),
            "business_key": _nullable("string"),
            "data": {**OBJECT, "description": "initial process data"},
        },
        ("process_id",),
    ),
    "InstanceCreated": _object({"id": STRING, "status": STRING}),
    "Instance": _object(
        {
            "id": STRING,
            "process": _object({"id": STRING, "name": STRING, "version": INTEGER}),
            "status": {"type": "string", "enum": ["running", "waiting", "completed", "cancelled", "incident"]},
            "incident": _nullable("string"),
            "customer_id": _nullable("string"),
            "customer": {
                "oneOf": [_object({"id": STRING, "name": STRING, "stage": STRING, "plan": STRING}), {"type": "null"}]
            },
            "business_key": _nullable("string"),
            "started_by": STRING,
            "started_at": {"type": "string", "format": "date-time"},
            "ended_at": WHEN,
            "open_tasks": {"type": "array", "items": _ref("Task")},
        }
    ),
    "MessageRequest": _object(
        {
            "name": {"type": "string", "description": "the BPMN message name"},
            "customer_id": _nullable("string"),
            "business_key": _nullable("string"),
            "payload": OBJECT,
        },
        ("name",),
        description="give customer_id or business_key (or both) to correlate the message",
    ),
    "MessageResult": _object(
        {"delivered": {"type": "array", "items": STRING, "description": "ids of the instances that received it"}}
    ),
    "AuditEvent": _object(
        {
            "seq": INTEGER,
            "at": {"type": "string", "format": "date-time"},
            "actor": STRING,
            "action": STRING,
            "process_id": _nullable("string"),
            "instance_id": _nullable("string"),
            "task_id": _nullable("string"),
            "customer_id": _nullable("string"),
            "payload": {**OBJECT, "description": "before/after values; a tombstone when redacted"},
            "redacted": BOOLEAN,
            "hash": STRING,
            "prev_hash": STRING,
        }
    ),
    "AuditPage": _object(
        {
            "events": {"type": "array", "items": _ref("AuditEvent")},
            "next_after_seq": {
                "type": ["integer", "null"],
                "description": "pass as after_seq for the next page; null on the last page",
            },
        }
    ),
}

ERRORS = {
    400: "The body is not a JSON object",
    401: "No valid bearer token",
    403: "The token's user may not do this",
    404: "No such task or instance",
    409: "Conflict: already claimed or completed, or changed by someone else at the same time",
    422: "A field is wrong; `fields` names each one",
}


def _json(schema: JsonDict, description: str) -> JsonDict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _operation(
    operation_id: str,
    summary: str,
    ok: tuple[int, str, str],
    errors: tuple[int, ...],
    *,
    roles: str,
    body: str | None = None,
    parameters: list[JsonDict] | None = None,
) -> JsonDict:
    code, schema, description = ok
    operation: JsonDict = {
        "operationId": operation_id,
        "summary": summary,
        "description": f"Roles: {roles}.",
        "responses": {
            str(code): _json(_ref(schema), description),
            **{str(e): _json(_ref("Error"), ERRORS[e]) for e in (401, 403, *errors)},
        },
    }
    if body:
        required = bool(SCHEMAS[body]["required"])
        operation["requestBody"] = {"required": required, "content": {"application/json": {"schema": _ref(body)}}}
    if parameters:
        operation["parameters"] = parameters
    return operation


def _query(name: str, description: str, schema: JsonDict | None = None) -> JsonDict:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema or STRING}


def _path(name: str, schema: JsonDict) -> JsonDict:
    return {"name": name, "in": "path", "required": True, "schema": schema}


TASK_ID = [_path("task_id", INTEGER)]
WORKERS = "staff (tasks of their groups or assigned to them), lead, admin"


def _task_action(operation_id: str, summary: str, body: str | None = None) -> JsonDict:
    done = (200, "TaskAction", "Done")
    return {
        "post": _operation(
            operation_id, summary, done, (400, 404, 409, 422), roles=WORKERS, body=body, parameters=TASK_ID
        )
    }


@cache
def document() -> JsonDict:
    from web.api import cs_doc, customers_doc, imports_doc  # the CS, customer and import routes describe themselves

    for described in (cs_doc, customers_doc, imports_doc):
        SCHEMAS.update(described.SCHEMAS)
    limit = {"type": "integer", "minimum": 1}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Jornada API",
            "version": "1.0.0",
            "description": "Start processes, work human tasks, send messages and read the audit trail. "
            "Authenticate with `Authorization: Bearer <token>` (`jornada users token NAME`).",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearerAuth": []}],
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "description": "an API token"}},
            "schemas": SCHEMAS,
        },
        "paths": {
            "/instances": {
                "post": _operation(
                    "start_instance",
                    "Start a process instance",
                    (201, "InstanceCreated", "Started; Location names the instance"),
                    (400, 404, 422),
                    roles="staff, lead, admin",
                    body="StartRequest",
                )
            },
            "/instances/{instance_id}": {
                "get": _operation(
                    "get_instance",
                    "An instance: status, process, customer and open tasks",
                    (200, "Instance", "The instance"),
                    (404,),
                    roles="lead, admin, auditor",
                    parameters=[_path("instance_id", STRING)],
                )
            },
            "/tasks": {
                "get": _operation(
                    "list_tasks",
                    "Open tasks",
                    (200, "TaskList", "Open tasks, soonest due first, then highest priority"),
                    (422,),
                    roles="staff (views mine and group), lead and admin (every view)",
                    parameters=[
                        _query(
                            "view",
                            "mine: assigned to me; group: open in my groups; all: every open task (leads, admins)",
                            {"type": "string", "enum": list(VIEWS), "default": "mine"},
                        ),
                        _query("process", "process id"),
                        _query("customer", "customer id"),
                        _query("instance", "instance id"),
                        _query("limit", "at most this many (default 100)", {**limit, "maximum": 500}),
                    ],
                )
            },
            "/tasks/{task_id}": {
                "get": _operation(
                    "get_task",
                    "A task with its form fields and data",
                    (200, "TaskDetail", "The task"),
                    (404,),
                    roles=WORKERS,
                    parameters=TASK_ID,
                )
            },
            "/tasks/{task_id}/claim": _task_action("claim", "Claim a task"),
            "/tasks/{task_id}/unclaim": _task_action(
                "unclaim", "Release a claimed task (its assignee, a lead or an admin)"
            ),
            "/tasks/{task_id}/assign": _task_action(
                "assign",
                "Hand a task to an active member of its groups (staff: only a task they hold)",
                "AssignRequest",
            ),
            "/tasks/{task_id}/complete": _task_action(
                "complete", "Complete a task with its form data", "CompleteRequest"
            ),
            "/messages": {
                "post": _operation(
                    "send_message",
                    "Send a message to the instances waiting for it",
                    (200, "MessageResult", "Delivered"),
                    (400, 422),
                    roles="staff, lead, admin",
                    body="MessageRequest",
                )
            },
            "/audit": {
                "get": _operation(
                    "list_events",
                    "Audit events in sequence order",
                    (200, "AuditPage", "A page of events"),
                    (422,),
                    roles="auditor, admin",
                    parameters=[
                        _query("actor", "who acted"),
                        _query("action", "e.g. task_completed"),
                        _query("customer", "customer id"),
                        _query("process", "process id"),
                        _query("instance", "instance id"),
                        _query("from", "ISO date or date-time, inclusive", {"type": "string", "format": "date-time"}),
                        _query("to", "ISO date-time, exclusive; a bare date includes that day", STRING),
                        _query("after_seq", "only events after this seq (paging)", {"type": "integer", "minimum": 0}),
                        _query("limit", "at most this many (default 100)", {**limit, "maximum": 1000}),
                    ],
                )
            },
            **cs_doc.paths(),
            **customers_doc.paths(),
            **imports_doc.paths(),
            "/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document",
                    "security": [],
                    "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {}}}},
                }
            },
        },
    }


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    return jsonify(document())
