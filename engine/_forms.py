"""Server-side validation of submitted task data against the model's Camunda form fields.

Submitted data is bounded first (nesting depth, text length, number of values, no NUL or lone surrogates:
``engine._data_limits.TASK_DATA``). A field's ``pattern`` comes from the model, so it runs on RE2, which matches in
time linear in the text: a pattern like ``(a+)+b`` cannot stall a request. Patterns RE2 does not support
(backreferences, lookaround) are refused at deploy by ``form_problems``."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import re2
from lxml import etree

from engine._data_limits import TASK_DATA, problem_in
from engine._errors import FieldError

CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
NUMERIC_CONSTRAINTS = ("minlength", "maxlength", "min", "max")


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


# -- patterns ------------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=256)
def _compiled(pattern: str) -> Any:
    options = re2.Options()
    options.log_errors = False
    return re2.compile(pattern, options)


def pattern_problem(pattern: str) -> str | None:
    """Why a form field's ``pattern`` cannot be used (RE2 syntax: no backreferences, no lookaround), or None."""
    try:
        _compiled(pattern)
    except re2.error as exc:
        detail = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        return (
            f"pattern {pattern!r} is not supported ({detail}): patterns run on RE2, which has no backreferences "
            "or lookaround, so that no input can make them slow"
        )
    return None


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def form_problems(task: etree._Element) -> list[str]:
    """Deploy checks of a task's Camunda form fields: patterns RE2 can run, numeric constraints that are numbers.
    Each message names the field; the caller names the task (its element id)."""
    problems = []
    for field in task.iterfind(f".//{{{CAMUNDA}}}formField"):
        name = field.get("id") or "?"
        for constraint in field.iterfind(f".//{{{CAMUNDA}}}constraint"):
            kind, config = constraint.get("name") or "", constraint.get("config")
            if kind == "pattern":
                problem = pattern_problem(config or "")
                if problem:
                    problems.append(f"form field {name!r}: {problem}")
            elif kind in NUMERIC_CONSTRAINTS and _number(config) is None:
                problems.append(f"form field {name!r}: constraint {kind} needs a number, not {config!r}")
    return problems


def constraint_number(constraints: Mapping[str, str | None], name: str) -> float | None:
    """A numeric constraint; one that is not a number (only possible in models deployed before the deploy check)
    is ignored rather than failing every submission."""
    return _number(constraints.get(name)) if constraints.get(name) not in (None, "") else None


def _constraint_error(field: Field, value: Any) -> str | None:
    c = field.constraints
    if isinstance(value, str):
        shortest, longest = constraint_number(c, "minlength"), constraint_number(c, "maxlength")
        if shortest is not None and len(value) < shortest:
            return f"must be at least {c['minlength']} characters"
        if longest is not None and len(value) > longest:
            return f"must be at most {c['maxlength']} characters"
        if c.get("pattern"):
            pattern = c["pattern"] or ""
            if pattern_problem(pattern):
                return f"cannot be checked: the form's {pattern_problem(pattern)}"
            if _compiled(pattern).fullmatch(value) is None:
                return f"must match the pattern {pattern}"
    if isinstance(value, int | float) and not isinstance(value, bool):
        low, high = constraint_number(c, "min"), constraint_number(c, "max")
        if low is not None and value < low:
            return f"must be at least {c['min']}"
        if high is not None and value > high:
            return f"must be at most {c['max']}"
    return None


def _bounds_error(submitted: Mapping[str, Any]) -> FieldError | None:
    """The first way ``submitted`` exceeds ``TASK_DATA``, named by its top-level field."""
    problem = problem_in(dict(submitted), TASK_DATA)
    if problem is None:
        return None
    name = re.split(r"[.\[]", problem.path, maxsplit=1)[0] or "data"
    return FieldError(name, problem.message if problem.path in (name, "") else f"at {problem.path}: {problem.message}")


def validate(task_spec: Any, submitted: Mapping[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
    """Return (clean values, errors). Tasks without a form accept any JSON object within ``TASK_DATA``'s bounds."""
    too_big = _bounds_error(submitted)
    if too_big is not None:
        return {}, [too_big]
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
