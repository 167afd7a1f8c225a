"""Server-side validation of submitted task data against the model's Camunda form fields."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from engine.errors import FieldError


@dataclass(frozen=True)
class Field:
    id: str
    label: str
    type: str
    default: str
    options: tuple[tuple[str, str], ...]
    constraints: dict[str, str | None]

    @property
    def required(self) -> bool:
        return "required" in self.constraints

    @property
    def readonly(self) -> bool:
        return "readonly" in self.constraints


def fields_of(task_spec: Any) -> list[Field]:
    form = getattr(task_spec, "form", None)
    if form is None:
        return []
    result = []
    for f in form.fields:
        options = tuple((o.id, o.name) for o in getattr(f, "options", []))
        constraints = {v.name: v.config for v in f.validation}
        result.append(Field(f.id, f.label or f.id, f.type or "string", f.default_value or "", options, constraints))
    return result


def _coerce(field: Field, value: Any) -> Any:
    kind = field.type
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in {"true", "on", "yes", "1", "false", "off", "no", "0"}:
            return value.lower() in {"true", "on", "yes", "1"}
        raise ValueError("must be true or false")
    if kind == "long":
        if isinstance(value, bool):
            raise ValueError("must be a whole number")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
            return int(value)
        raise ValueError("must be a whole number")
    if kind == "date":
        try:
            return date.fromisoformat(str(value).strip()).isoformat()
        except ValueError:
            raise ValueError("must be a date (YYYY-MM-DD)") from None
    if kind == "enum":
        ids = [option for option, _ in field.options]
        if str(value) not in ids:
            raise ValueError(f"must be one of {', '.join(ids)}")
        return str(value)
    if not isinstance(value, str | int | float):
        raise ValueError("must be text")
    return str(value)


def _constraint_error(field: Field, value: Any) -> str | None:
    c = field.constraints
    if isinstance(value, str):
        if c.get("minlength") and len(value) < int(c["minlength"] or 0):
            return f"must be at least {c['minlength']} characters"
        if c.get("maxlength") and len(value) > int(c["maxlength"] or 0):
            return f"must be at most {c['maxlength']} characters"
        if c.get("pattern") and not re.fullmatch(c["pattern"] or "", value):
            return f"must match the pattern {c['pattern']}"
    if isinstance(value, int | float) and not isinstance(value, bool):
        if c.get("min") is not None and value < float(c["min"] or 0):
            return f"must be at least {c['min']}"
        if c.get("max") is not None and value > float(c["max"] or 0):
            return f"must be at most {c['max']}"
    return None


def validate(task_spec: Any, submitted: Mapping[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
    """Return (clean values, errors). Tasks without a form accept any JSON object."""
    fields = fields_of(task_spec)
    if not fields:
        return dict(submitted), []
    known = {f.id: f for f in fields}
    errors = [FieldError(key, "is not a field of this form") for key in submitted if key not in known]
    clean: dict[str, Any] = {}
    for field in fields:
        raw = submitted.get(field.id)
        empty = raw is None or (isinstance(raw, str) and not raw.strip())
        if field.readonly:
            continue
        if empty:
            if field.type == "boolean" and field.id in submitted:
                clean[field.id] = False
            elif field.required:
                errors.append(FieldError(field.id, "is required"))
            continue
        try:
            value = _coerce(field, raw)
        except ValueError as exc:
            errors.append(FieldError(field.id, str(exc)))
            continue
        problem = _constraint_error(field, value)
        if problem:
            errors.append(FieldError(field.id, problem))
        else:
            clean[field.id] = value
    return clean, errors
