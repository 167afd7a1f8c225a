"""Each API operation declared once: its path, roles, query, body and response models (pydantic). ``operation``
registers the view on the blueprint, checks the query string and the JSON body against their models before the
view runs (422 naming every wrong field, 400 for a body that is not a JSON object), and keeps the declaration in
``OPERATIONS``, from which openapi.py writes the OpenAPI document."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import wraps
from typing import Annotated, Any, Literal, TypeVar

from flask import request
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
)
from pydantic_core import ErrorDetails
from werkzeug.exceptions import NotFound

from web.accounts.permissions import requires
from web.api.base import InvalidInput, bp, json_body, kind_of
from web.context import runtime
from web.params import MAX_ID  # ids and sequence numbers: INTEGER columns (32 bits on PostgreSQL)

F = TypeVar("F", bound=Callable[..., Any])
MAX_INT = 2**63 - 1  # a 64-bit integer


class Shape(BaseModel):
    """A request or response shape: unknown fields are refused (and documented as such)."""

    model_config = ConfigDict(extra="forbid")


class Query(Shape):
    """Query parameters: text from the URL, converted (``?limit=5`` is the number 5)."""


class Body(Shape):
    """A JSON request body: JSON types as they are (a number given as a string is refused)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class NoFields(Body):
    """An empty object (or no body)."""


# -- field types shared by the shapes ----------------------------------------------------------------------------
def text(max_length: int, description: str | None = None, *, required: bool = False, **extra: Any) -> Any:
    """Text of 1 to ``max_length`` characters, not only spaces; optional (None) unless ``required``."""
    extra.setdefault("default", ... if required else None)
    return Field(min_length=1, max_length=max_length, pattern=r"\S", description=description, **extra)


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def optional(**constraints: Any) -> Any:
    """A field that may be left out but not given as null (a PATCH body's field): left out, it is left alone."""
    return Field(None, json_schema_extra=_no_default, **constraints)


def _integral(value: Any) -> Any:
    """JSON Schema counts 5.0 as an integer: so does a body (a string "5" or true stays refused)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


Whole = Annotated[int, BeforeValidator(_integral)]
"""A whole number in a JSON body (5 or 5.0)."""
Count = Annotated[Whole, Field(ge=0, le=MAX_INT)]
Id = Annotated[Whole, Field(ge=1, le=MAX_ID)]
When = datetime  # a date-time in responses
Day = Annotated[
    date,
    Field(ge=date(1900, 1, 1), le=date(2199, 12, 31)),
    WithJsonSchema({"type": "string", "format": "date", "pattern": r"^(19|2[01])[0-9]{2}-"}),
]
"""A day of a reporting period, YYYY-MM-DD from 1900 to 2199 (periods are compared a year back)."""


def _moment(value: Any, *, end_of_day: bool) -> datetime:
    """An ISO 8601 date or date-time (UTC without an offset); a bare date is its first instant, or with
    ``end_of_day`` the first instant of the next day."""
    if isinstance(value, datetime):
        found = value
    elif not isinstance(value, str) or len(value) > 40:
        raise ValueError("must be an ISO 8601 date (YYYY-MM-DD) or date-time")
    else:
        try:
            if len(value) == 10:
                day = date.fromisoformat(value)
                return datetime.combine(day + timedelta(days=1 if end_of_day else 0), time(), UTC)
            found = datetime.fromisoformat(value)
        except (ValueError, OverflowError):
            raise ValueError("must be an ISO 8601 date (YYYY-MM-DD) or date-time") from None
    try:
        return found.replace(tzinfo=UTC) if found.tzinfo is None else found.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range") from None


_MOMENT_SCHEMA = WithJsonSchema(
    {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "string", "format": "date"}]}
)
Moment = Annotated[datetime, PlainValidator(lambda v: _moment(v, end_of_day=False)), _MOMENT_SCHEMA]
"""A date or date-time; a bare date is that day's first instant (UTC)."""
EndMoment = Annotated[datetime, PlainValidator(lambda v: _moment(v, end_of_day=True)), _MOMENT_SCHEMA]
"""An exclusive upper bound: a date-time, or a bare date meaning up to the end of that day."""


# -- the error every refusal answers with ------------------------------------------------------------------------
class Error(BaseModel):
    """Every refusal; some carry more detail (an import's rows, a model's problems)."""

    error: str
    message: str
    fields: dict[str, str] | None = Field(None, description="field name -> what is wrong with it")


ERRORS = {
    400: "The body is not a JSON object, or a text holds a NUL character or a lone surrogate (it cannot be stored)",
    401: "No valid bearer token",
    403: "The token's user may not do this",
    404: "No such record",
    405: "Method not allowed; Allow lists the methods of this path",
    409: "Conflict: already claimed or completed, or changed by someone else at the same time",
    413: "The body is over 5 MB",
    422: "A field is wrong; `fields` names each one",
}


UNION_TAGS = ("event", "batch")  # the tags of a request body that is one of several shapes (not field names)


def _location(error: ErrorDetails, prefix: str = "") -> str:
    loc = error["loc"][1:] if error["loc"] and error["loc"][0] in UNION_TAGS else error["loc"]
    parts = [f"[{p}]" if isinstance(p, int) else str(p) for p in loc]
    name = "".join(p if p.startswith("[") or i == 0 else f".{p}" for i, p in enumerate(parts))
    return f"{prefix}{name}" if name else prefix.rstrip(".") or "body"


PATTERN_MESSAGES: dict[str, str] = {r"\S": "must not be blank"}


def pattern(regex: str, message: str) -> str:
    """``regex`` for a field's ``pattern``, and what a refusal says when a value does not match it."""
    PATTERN_MESSAGES[regex] = message
    return regex


def _message(error: ErrorDetails, unknown: Mapping[str, str]) -> str:
    kind, ctx, given = error["type"], error.get("ctx", {}), error.get("input")
    simple = {
        "missing": "is required",
        "int_type": "must be a whole number",
        "int_parsing": "must be a whole number",
        "int_from_float": "must be a whole number",
        "bool_type": "must be true or false",
        "bool_parsing": "must be true or false",
        "date_type": "must be a date (YYYY-MM-DD)",
        "date_parsing": "must be a date (YYYY-MM-DD)",
        "date_from_datetime_parsing": "must be a date (YYYY-MM-DD)",
        "date_from_datetime_inexact": "must be a date (YYYY-MM-DD)",
        "finite_number": "must be a finite number",
    }
    if kind == "extra_forbidden":
        return unknown.get(str(error["loc"][-1]), "is not a known field")
    if kind in simple:
        return simple[kind]
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"must be a JSON object, not {kind_of(given)}"
    if kind in ("string_type", "float_type", "float_parsing", "list_type"):
        wanted = {"string_type": "a string", "list_type": "an array"}.get(kind, "a number")
        return f"must be {wanted}, not {kind_of(given)}"
    if kind == "string_too_short" and ctx.get("min_length") == 1:
        return "must not be empty"
    if kind in ("greater_than_equal", "less_than_equal"):
        return f"must be at least {ctx['ge']}" if "ge" in ctx else f"must be at most {ctx['le']}"
    if kind == "string_too_long":
        return f"must be at most {ctx['max_length']} characters"
    if kind == "too_long":
        return f"must hold at most {ctx['max_length']} items, not {ctx['actual_length']}"
    if kind == "too_short":
        return f"must hold at least {ctx['min_length']} item{'s' if ctx['min_length'] != 1 else ''}"
    if kind == "literal_error":
        return f"must be one of {ctx['expected'].replace(chr(39), '').replace(' or ', ', ')}"
    if kind == "string_pattern_mismatch" and ctx.get("pattern") in PATTERN_MESSAGES:
        return PATTERN_MESSAGES[ctx["pattern"]]
    message = error["msg"].removeprefix("Value error, ")
    return "must be" + message.removeprefix("Input should be") if message.startswith("Input should be") else message


def refused(exc: ValidationError, unknown: Mapping[str, str] | None = None) -> InvalidInput:
    """A ValidationError as the API's 422: one message per field (``events[3].name``); ``unknown`` says why a
    field that is not part of the shape is refused (default: it is not a known field)."""
    fields: dict[str, str] = {}
    for error in exc.errors(include_url=False):
        fields.setdefault(_location(error, ""), _message(error, unknown or {}))
    return InvalidInput(fields)


# -- the registry ------------------------------------------------------------------------------------------------
Method = Literal["get", "post", "patch", "put", "delete"]


@dataclass(frozen=True)
class Response:
    status: int
    shape: Any  # a model class, a TypeAdapter-able type, or a raw JSON schema (dict)
    description: str
    headers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Operation:
    method: Method
    path: str  # OpenAPI style: /tasks/{task_id}
    endpoint: str
    summary: str
    roles: tuple[str, ...]
    query: type[Query] | None
    body: Any  # a Body model or an annotated union of them; None when the operation takes no body
    responses: tuple[Response, ...]
    errors: tuple[int, ...]
    path_parameters: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    request_body: dict[str, Any] | None = None  # a raw requestBody (e.g. text/csv) instead of ``body``


OPERATIONS: list[Operation] = []
_RULE_PARAMETER = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


def _path_parameters(rule: str) -> tuple[str, dict[str, Any]]:
    """The OpenAPI path of a Flask rule and a JSON schema per parameter (``int`` ids are 1..MAX_ID)."""
    parameters: dict[str, Any] = {}
    for converter, name in _RULE_PARAMETER.findall(rule):
        parameters[name] = (
            {"type": "integer", "minimum": 1, "maximum": MAX_ID}
            if converter == "int"
            else {"type": "string", "minLength": 1, "pattern": "^[^/]+$"}
        )
    return _RULE_PARAMETER.sub(r"{\2}", rule), parameters


def read_query(model: type[Query]) -> Query:
    """The query string checked against ``model`` (the first value of a repeated parameter)."""
    try:
        return model.model_validate(request.args.to_dict())
    except ValidationError as exc:
        raise refused(exc) from None


def read_body(adapter: TypeAdapter[Any], unknown: Mapping[str, str] | None = None) -> Any:
    """The JSON body checked against its shape; validators may compare with the runtime's clock
    (``info.context["now"]``)."""
    raw = json_body()
    try:
        return adapter.validate_json(json.dumps(raw), context={"now": runtime().clock.now()})
    except ValidationError as exc:
        raise refused(exc, unknown) from None


def operation(
    method: Method,
    rule: str,
    *,
    summary: str,
    roles: tuple[str, ...],
    ok: Response,
    query: type[Query] | None = None,
    body: Any = None,
    errors: tuple[int, ...] = (),
    description: str = "",
    request_body: dict[str, Any] | None = None,
    responses: tuple[Response, ...] = (),
    path_schemas: dict[str, Any] | None = None,
) -> Callable[[F], F]:
    """Declare and register an API operation (behind ``requires(*roles)``). Besides the rule's path parameters the
    view receives ``query=`` and ``body=``, the checked shapes, when the operation declares them."""
    path, path_parameters = _path_parameters(rule)
    path_parameters.update(path_schemas or {})
    body_adapter = TypeAdapter(body) if body is not None else None
    ids = [name for name, schema in path_parameters.items() if schema.get("type") == "integer"]
    unknown = getattr(body, "unknown_fields", None)

    def decorate(view: F) -> F:
        @wraps(view)
        def checked(**kwargs: Any) -> Any:
            if any(isinstance(kwargs[name], int) and kwargs[name] > MAX_ID for name in ids):
                raise NotFound()  # no row can have an id beyond what its column holds
            if query is not None:
                kwargs["query"] = read_query(query)
            if body_adapter is not None:
                kwargs["body"] = read_body(body_adapter, unknown)
            return view(**kwargs)

        OPERATIONS.append(
            Operation(
                method=method,
                path=path,
                endpoint=view.__name__,
                summary=summary,
                roles=roles,
                query=query,
                body=body,
                responses=(ok, *responses),
                errors=errors,
                path_parameters=path_parameters,
                description=description,
                request_body=request_body,
            )
        )
        bp.add_url_rule(rule, view.__name__, requires(*roles)(checked), methods=[method.upper()])
        return view

    return decorate
