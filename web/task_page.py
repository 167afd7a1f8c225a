"""What the task page shows: the instructions rendered against the task data, the customer and instance behind
the task, the model's form fields as HTML inputs (with the values to show and their errors), and the BPMN of
the definition the task belongs to."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from jinja2 import TemplateError
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup
from sqlalchemy import select

from engine.forms import Field
from engine.models import ProcessDefinition, ProcessInstance
from processes.customers import Customer
from web.context import read_session


class _DocumentationEnvironment(ImmutableSandboxedEnvironment):
    """Instructions show data; they never compute (no ``*``/``**``: a model cannot make a huge string)."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        raise SecurityError(f"the operator {operator!r} is not allowed in instructions")


_DOCS = _DocumentationEnvironment(autoescape=False)
LONG_TEXT = 255  # string fields allowing more characters than this get a textarea


def instructions(documentation: str, data: Mapping[str, Any]) -> str:
    """The model's documentation, Jinja2-rendered (sandboxed) against the task data; as written if it fails."""
    if "{" not in documentation:
        return documentation
    try:
        return _DOCS.from_string(documentation).render(dict(data))
    except TemplateError:
        return documentation


# -- the form ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Input:
    """One form field as the template draws it."""

    name: str
    label: str
    kind: str  # text textarea number checkbox date select
    value: str
    checked: bool
    required: bool
    readonly: bool
    attrs: dict[str, str] = field(default_factory=dict)
    options: tuple[tuple[str, str], ...] = ()
    error: str | None = None

    @property
    def html_id(self) -> str:
        return f"field-{self.name}"

    @property
    def error_id(self) -> str:
        return f"{self.html_id}-error"

    @property
    def attributes(self) -> Markup:
        """The attributes every kind of input shares: id, name, constraints, required and error state."""
        pairs = [("id", self.html_id), ("name", self.name)]
        if self.required:
            pairs += [("required", ""), ("aria-required", "true")]
        if self.readonly:
            pairs.append(("readonly", ""))
        if self.error:
            pairs += [("aria-invalid", "true"), ("aria-describedby", self.error_id)]
        pairs += list(self.attrs.items())
        return Markup(" ").join(
            Markup('{}="{}"').format(name, value) if value else Markup(name) for name, value in pairs
        )


def _kind(f: Field) -> str:
    if f.type == "string":
        return "textarea" if int(f.constraints.get("maxlength") or 0) > LONG_TEXT else "text"
    return {"long": "number", "boolean": "checkbox", "date": "date", "enum": "select"}.get(f.type, "text")


def _attrs(f: Field, kind: str) -> dict[str, str]:
    wanted = {"number": ("min", "max"), "text": ("minlength", "maxlength"), "textarea": ("minlength", "maxlength")}
    attrs = {name: str(f.constraints[name]) for name in wanted.get(kind, ()) if f.constraints.get(name)}
    if kind == "number":
        attrs["step"] = "1"
    return attrs


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def inputs(
    fields: list[Field],
    data: Mapping[str, Any],
    *,
    submitted: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
) -> list[Input]:
    """The inputs with the task's current values, or with what was just submitted when re-showing errors."""
    errors = errors or {}
    result = []
    for f in fields:
        kind = _kind(f)
        if submitted is not None and not f.readonly:
            raw = submitted.get(f.id, "")
            value = "true" if kind == "checkbox" and raw == "true" else raw
        else:
            value = _shown(data[f.id]) if data.get(f.id) is not None else f.default
        result.append(
            Input(
                name=f.id,
                label=f.label,
                kind=kind,
                value="" if kind == "checkbox" else value,
                checked=kind == "checkbox" and value.lower() == "true",
                required=f.required and kind != "checkbox",
                readonly=f.readonly,
                attrs=_attrs(f, kind),
                options=f.options,
                error=errors.get(f.id),
            )
        )
    return result


def submitted_data(fields: list[Field], form: Mapping[str, str]) -> dict[str, str]:
    """What the engine validates: every editable field of the model (an unticked checkbox is "false")."""
    data = {}
    for f in fields:
        if f.readonly:
            continue
        if f.type == "boolean":
            data[f.id] = "true" if form.get(f.id) == "true" else "false"
        else:
            data[f.id] = form.get(f.id, "")
    return data


# -- context -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Context:
    customer: Customer | None
    instance: ProcessInstance | None
    process_name: str
    definition_id: int | None


def context(instance_id: str, customer_id: str | None, process_id: str) -> Context:
    """The customer and the instance behind a task, and the deployed definition its element lives in."""
    with read_session() as session:
        customer = session.get(Customer, customer_id) if customer_id else None
        instance = session.get(ProcessInstance, instance_id)
        definition_ids = [instance.definition_id, *json.loads(instance.called_definitions or "[]")] if instance else []
        rows = session.execute(
            select(ProcessDefinition.id, ProcessDefinition.process_id, ProcessDefinition.name).where(
                ProcessDefinition.id.in_(definition_ids)
            )
        ).all()
        session.expunge_all()
    own = next((row for row in rows if row.process_id == process_id), None)
    top = next((row for row in rows if instance and row.id == instance.definition_id), None)
    return Context(
        customer=customer,
        instance=instance,
        process_name=(top.name if top else None) or (instance.process_id if instance else process_id),
        definition_id=own.id if own else (top.id if top else None),
    )


def bpmn_xml(definition_id: int) -> str | None:
    with read_session() as session:
        return session.execute(
            select(ProcessDefinition.bpmn_xml).where(ProcessDefinition.id == definition_id)
        ).scalar_one_or_none()
