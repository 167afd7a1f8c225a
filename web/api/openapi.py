"""GET /api/v1/openapi.json: the OpenAPI 3.1 document, written from the operations' declarations (web.api.declare):
their query, body and response models become the parameters, request bodies, responses and component schemas."""

from __future__ import annotations

from functools import cache
from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, TypeAdapter

from web.api.base import bp
from web.api.declare import ERRORS, OPERATIONS, Error, Operation, Response

JsonDict = dict[str, Any]
REF = "#/components/schemas/{model}"


class _Components:
    """The component schemas collected while describing the operations."""

    def __init__(self) -> None:
        self.schemas: JsonDict = {}

    def schema(self, shape: Any, mode: str) -> JsonDict:
        """A reference to ``shape``'s schema (a model), or its schema inline (a union, a list, a raw dict)."""
        if isinstance(shape, dict):
            return shape
        adapter = shape if isinstance(shape, TypeAdapter) else TypeAdapter(shape)
        found = adapter.json_schema(ref_template=REF, mode=mode)  # type: ignore[arg-type]
        self.schemas.update(found.pop("$defs", {}))
        if isinstance(shape, type) and issubclass(shape, BaseModel):
            self.schemas[shape.__name__] = found
            return {"$ref": REF.format(model=shape.__name__)}
        return found


def _without_null(schema: JsonDict) -> JsonDict:
    """A query parameter is absent or text: the ``null`` branch of an optional field does not apply."""
    options = schema.get("anyOf")
    if options:
        kept = [option for option in options if option.get("type") != "null"]
        if len(kept) == 1:
            rest = {key: value for key, value in schema.items() if key != "anyOf"}
            return {**kept[0], **rest}
    return schema


def _parameters(op: Operation) -> list[JsonDict]:
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": schema} for name, schema in op.path_parameters.items()
    ]
    if op.query is not None:
        schema = op.query.model_json_schema(ref_template=REF)
        required = set(schema.get("required", []))
        for name, prop in schema["properties"].items():
            prop = _without_null({key: value for key, value in prop.items() if key != "title"})
            parameter = {"name": name, "in": "query", "required": name in required, "schema": prop}
            if "description" in prop:
                parameter["description"] = prop["description"]
            parameters.append(parameter)
    return parameters


def _response(components: _Components, response: Response) -> JsonDict:
    described: JsonDict = {
        "description": response.description,
        "content": {"application/json": {"schema": components.schema(response.shape, "serialization")}},
    }
    if response.headers:
        described["headers"] = {name: {"required": True, "schema": {"type": "string"}} for name in response.headers}
    return described


def _operation(components: _Components, op: Operation) -> JsonDict:
    error_ref = components.schema(Error, "serialization")
    codes = {400, 401, 403, 405, *op.errors}  # 400: text that cannot be stored (web.payload_limits), a bad body
    if op.query is not None or op.body is not None:
        codes.add(422)
    if op.body is not None or op.request_body is not None:
        codes.add(413)
    if op.path_parameters:
        codes.add(404)
    responses: JsonDict = {str(r.status): _response(components, r) for r in op.responses}
    for code in sorted(codes):
        if str(code) not in responses:
            responses[str(code)] = {
                "description": ERRORS[code],
                "content": {"application/json": {"schema": error_ref}},
                **({"headers": {"Allow": {"required": True, "schema": {"type": "string"}}}} if code == 405 else {}),
            }
    described: JsonDict = {
        "operationId": op.endpoint,
        "summary": op.summary,
        "description": " ".join(part for part in (f"Roles: {', '.join(op.roles)}.", op.description) if part),
        "responses": dict(sorted(responses.items())),
    }
    parameters = _parameters(op)
    if parameters:
        described["parameters"] = parameters
    if op.request_body is not None:
        described["requestBody"] = op.request_body
    elif op.body is not None:
        schema = components.schema(op.body, "validation")
        model = op.body if isinstance(op.body, type) and issubclass(op.body, BaseModel) else None
        optional = model is not None and not any(f.is_required() for f in model.model_fields.values())
        described["requestBody"] = {"required": not optional, "content": {"application/json": {"schema": schema}}}
    return described


@cache
def document() -> JsonDict:
    components = _Components()
    paths: JsonDict = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _operation(components, op)
    paths["/openapi.json"] = {
        "get": {
            "operationId": "openapi",
            "summary": "This document",
            "security": [],
            "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {}}}},
        }
    }
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
            "schemas": dict(sorted(components.schemas.items())),
        },
        "paths": paths,
    }


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    return jsonify(document())
