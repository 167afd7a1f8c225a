"""What the task page shows: the instructions rendered against the task data, the customer and instance behind
the task, the model's form fields as HTML inputs (with the values to show and their errors), the case so far
(earlier answers read from the audit trail, every comment of the instance and of the customer), and the BPMN of
the definition the task belongs to."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from jinja2 import TemplateError
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine import BPMN_NS, CAMUNDA_NS, AuditAction, Field, constraint_number, fields_of, single_process
from engine.models import AuditEvent, HumanTask, ProcessDefinition, ProcessInstance
from processes.customers import Customer
from web.context import read_session, runtime
from web.inbox.query import process_names
from web.model_text import translate
from web.models import TaskComment
from web.tasks import display


class _DocumentationEnvironment(ImmutableSandboxedEnvironment):
    """Instructions show data; they never compute (no ``*``/``**``: a model cannot make a huge string)."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        raise SecurityError(f"the operator {operator!r} is not allowed in instructions")


_DOCS = _DocumentationEnvironment(autoescape=False)
LONG_TEXT = 255  # string fields allowing more characters than this get a textarea


def instructions(documentation: str, data: Mapping[str, Any], labels: display.Labels | None = None) -> str:
    """The model's documentation in the page's language, Jinja2-rendered (sandboxed) against the task data, enum
    codes printed as their option labels (``labels``: field id -> code -> label); as written if it fails. The
    template is translated before it is rendered: the catalogue holds the text with its placeholders."""
    documentation = translate(documentation)
    if "{" not in documentation:
        return documentation
    try:
        return _DOCS.from_string(documentation).render(display.labelled_data(data, labels or {}))
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
        return "textarea" if (constraint_number(f.constraints, "maxlength") or 0) > LONG_TEXT else "text"
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
                label=translate(f.label),
                kind=kind,
                value="" if kind == "checkbox" else value,
                checked=kind == "checkbox" and value.lower() == "true",
                required=f.required and kind != "checkbox",
                readonly=f.readonly,
                attrs=_attrs(f, kind),
                options=tuple((code, translate(name)) for code, name in f.options),
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


# -- the case: earlier answers and every comment ---------------------------------------------------------------
COMMENTS_SHOWN = 100  # newest first; a customer with years of tickets does not make the page endless
START = "\0start"  # model_fields' key for the start events' form (no element id can hold a NUL)
SHOWN_ELSEWHERE = frozenset({"customer_id", "business_key"})  # the customer and instance card show these


@dataclass(frozen=True)
class Answer:
    label: str
    value: str


@dataclass(frozen=True)
class Step:
    """A finished step of the instance (or its opening), with what was entered."""

    name: str
    actor: str
    at: datetime
    answers: tuple[Answer, ...]
    opening: bool = False


@dataclass(frozen=True)
class CaseComment:
    author: str
    body: str
    created_at: datetime
    step: str
    process: str
    this_case: bool
    business_key: str | None


@dataclass(frozen=True)
class Case:
    steps: list[Step]
    comments: list[CaseComment]
    labels: dict[str, dict[str, str]]


def model_fields(session: Session, instance: ProcessInstance) -> dict[str, list[Field]]:
    """Element id -> form fields, for every element of the instance's definition and the ones it calls."""
    ids = [instance.definition_id, *json.loads(instance.called_definitions or "[]")]
    rows = session.execute(
        select(ProcessDefinition.id, ProcessDefinition.process_id, ProcessDefinition.bpmn_xml).where(
            ProcessDefinition.id.in_(ids)
        )
    ).all()
    found = {row.id: (row.process_id, row.bpmn_xml) for row in rows}
    if any(i not in found for i in ids):
        return {}
    spec, called = runtime().specs.get([found[i] for i in ids])
    result: dict[str, list[Field]] = {START: start_fields(*found[ids[0]])}
    for process in [spec, *called.values()]:
        for name, task_spec in process.task_specs.items():
            fields = fields_of(task_spec)
            if fields:
                result.setdefault(getattr(task_spec, "bpmn_id", None) or name, fields)
    return result


def start_fields(process_id: str, xml: str) -> list[Field]:
    """The form fields of the process's start events (SpiffWorkflow reads forms of user tasks only)."""
    root = single_process(xml, process_id)
    result = []
    for node in root.iterfind(f"{{{BPMN_NS}}}process/{{{BPMN_NS}}}startEvent//{{{CAMUNDA_NS}}}formField"):
        options = tuple(
            (o.get("id", ""), o.get("name") or o.get("id", "")) for o in node.iterfind(f"{{{CAMUNDA_NS}}}value")
        )
        key = node.get("id", "")
        result.append(Field(key, node.get("label") or key, node.get("type") or "string", "", options, {}))
    return result


def _answers(values: Mapping[str, Any], fields: list[Field], known: Mapping[str, Field]) -> tuple[Answer, ...]:
    """The values in the order of the step's form, then the rest; labels from the form, else any form, else key."""
    own = {f.id: f for f in fields}
    keys = [f.id for f in fields if f.id in values] + sorted(key for key in values if key not in own)
    return tuple(
        Answer(
            translate((own.get(key) or known.get(key) or _bare(key)).label),
            display.answer(values[key], own.get(key) or known.get(key)),
        )
        for key in keys
    )


def _bare(key: str) -> Field:
    return Field(key, key, "string", "", (), {})


def _opening(event: AuditEvent, data: Any, by_element: Mapping[str, list[Field]], known: Mapping[str, Field]) -> Step:
    """The data the instance was started with (intake form or API), minus what the customer card shows."""
    seed = data if isinstance(data, dict) else {}
    values = {k: v for k, v in seed.items() if k not in SHOWN_ELSEWHERE and v is not None}
    answers = _answers(values, by_element.get(START, []), known)
    return Step(_("Case opened"), event.actor, event.at, answers, opening=True)


def _step(event: AuditEvent, by_element: Mapping[str, list[Field]], known: Mapping[str, Field]) -> Step | None:
    payload = json.loads(event.payload or "{}")
    if event.redacted or not isinstance(payload, dict):
        return None
    if event.action == AuditAction.INSTANCE_STARTED:
        return _opening(event, payload.get("data"), by_element, known)
    after = payload.get("after")
    values: dict[str, Any] = after if isinstance(after, dict) else {}
    fields = by_element.get(str(payload.get("element")), [])
    name = translate(str(payload.get("name") or payload.get("element")))
    return Step(name, event.actor, event.at, _answers(values, fields, known))


def _steps(session: Session, instance_id: str, by_element: Mapping[str, list[Field]]) -> list[Step]:
    known: dict[str, Field] = {}
    for fields in by_element.values():
        for f in fields:
            known.setdefault(f.id, f)
    events = session.execute(
        select(AuditEvent)
        .where(
            AuditEvent.instance_id == instance_id,
            AuditEvent.action.in_((AuditAction.INSTANCE_STARTED, AuditAction.TASK_COMPLETED)),
        )
        .order_by(AuditEvent.seq)
    ).scalars()
    steps = [_step(event, by_element, known) for event in events]
    return [s for s in steps if s is not None and (s.answers or not s.opening)]


def _comments(session: Session, instance_id: str, customer_id: str | None) -> list[CaseComment]:
    """Every comment of the instance and, with a customer, of the customer's other instances; newest first."""
    mine = TaskComment.instance_id == instance_id
    where = or_(mine, HumanTask.customer_id == customer_id) if customer_id else mine
    rows = session.execute(
        select(TaskComment, HumanTask.name, HumanTask.process_id, ProcessInstance.business_key)
        .join(HumanTask, HumanTask.id == TaskComment.human_task_id)
        .outerjoin(ProcessInstance, ProcessInstance.id == TaskComment.instance_id)
        .where(where)
        .order_by(TaskComment.created_at.desc(), TaskComment.id.desc())
        .limit(COMMENTS_SHOWN)
    ).all()
    names = process_names(session)
    return [
        CaseComment(
            author=c.author,
            body=c.body,
            created_at=c.created_at,
            step=translate(step),
            process=translate(names.get(process_id, process_id)),
            this_case=c.instance_id == instance_id,
            business_key=key,
        )
        for c, step, process_id, key in rows
    ]


def case(instance_id: str, customer_id: str | None, current: list[Field]) -> Case:
    """What happened in the case so far: earlier answers (with labels), comments, and the option labels that the
    instructions print instead of codes."""
    with read_session() as session:
        instance = session.get(ProcessInstance, instance_id)
        by_element = model_fields(session, instance) if instance is not None else {}
        steps = _steps(session, instance_id, by_element)
        comments = _comments(session, instance_id, customer_id)
    every = [f for fields in by_element.values() for f in fields]
    return Case(steps, comments, display.option_labels([*current, *every]))
