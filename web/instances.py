"""The instances screen (leads, admins, auditors): every process instance, filtered by process, customer, status,
incident or stuck step; and one instance's page with its diagram coloured by state, its audit timeline, current
data and open tasks. Leads and admins operate on it (cancel, retry an incident, skip or repeat a step), each with a
reason that lands in the audit trail; auditors only read."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_decimal
from flask_babel import gettext as _
from sqlalchemy import Select, exists, func, or_, select

from engine import (
    FINAL_STATUSES,
    OPEN_TASK_STATES,
    EngineError,
    FormValidationError,
    InstanceStatus,
    NotFound,
)
from engine.models import AuditEvent, HumanTask, ProcessDefinition, ProcessInstance
from processes.customers import Customer
from web import payload_limits
from web.accounts.permissions import LEADS, READ_INSTANCES, requires
from web.context import me, read_session, runtime, status_of
from web.inbox.query import process_names
from web.paging import page_count
from web.params import MAX_PAGE, whole_number
from web.payload_limits import PayloadRefused
from web.tasks.display import moment
from web.vocabulary import action_label, status_label

bp = Blueprint("instances", __name__)

PAGE_SIZE = 25
STATUSES = tuple(InstanceStatus)


# -- the list ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Filters:
    process: str = ""
    customer: str = ""
    status: str = ""
    incident: bool = False
    stuck: bool = False
    page: int = 1

    @classmethod
    def read(cls, args: Mapping[str, str]) -> tuple[Filters, dict[str, str]]:
        """The filters of the query string, and an error per field that does not make sense (that filter is
        left out)."""
        errors: dict[str, str] = {}
        status = args.get("status", "").strip()
        if status and status not in STATUSES:
            errors["status"] = _("Status: “%(value)s” is not a status.", value=status)
            status = ""
        page_text = args.get("page", "1").strip() or "1"
        page = whole_number(page_text, high=MAX_PAGE) or 1
        if page_text != str(page):
            errors["page"] = _("Page: “%(value)s” is not a page number.", value=page_text)
        found = cls(
            process=args.get("process", "").strip(),
            customer=args.get("customer", "").strip(),
            status=status,
            incident=args.get("incident") == "1",
            stuck=args.get("stuck") == "1",
            page=page,
        )
        return found, errors

    def query_args(self, **changes: Any) -> dict[str, Any]:
        """The query string of these filters (only the ones set), with ``changes``."""
        chosen = replace(self, **changes)
        args = {
            "process": chosen.process,
            "customer": chosen.customer,
            "status": chosen.status,
            "incident": "1" if chosen.incident else "",
            "stuck": "1" if chosen.stuck else "",
            "page": chosen.page if chosen.page > 1 else "",
        }
        return {key: value for key, value in args.items() if value}


@dataclass(frozen=True)
class Row:
    id: str
    process_id: str
    process_name: str
    version: int
    customer_id: str | None
    customer_name: str | None
    status: str
    incident: str | None
    started_at: datetime
    ended_at: datetime | None
    steps: list[tuple[int, str, bool]]  # (human task id, name, stuck) of the open human tasks


def _listing(filters: Filters, now: datetime) -> Select[*tuple[Any, ...]]:
    query: Select[*tuple[Any, ...]] = (
        select(
            ProcessInstance.id,
            ProcessInstance.process_id,
            ProcessInstance.customer_id,
            ProcessInstance.status,
            ProcessInstance.incident,
            ProcessInstance.started_at,
            ProcessInstance.ended_at,
            ProcessDefinition.name,
            ProcessDefinition.version,
            Customer.name.label("customer_name"),
        )
        .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)
        .outerjoin(Customer, Customer.id == ProcessInstance.customer_id)
    )
    if filters.process:
        query = query.where(ProcessInstance.process_id == filters.process)
    if filters.customer:
        query = query.where(
            or_(
                ProcessInstance.customer_id.icontains(filters.customer, autoescape=True),
                Customer.name.icontains(filters.customer, autoescape=True),
            )
        )
    if filters.status:
        query = query.where(ProcessInstance.status == filters.status)
    if filters.incident:
        query = query.where(
            or_(ProcessInstance.status == InstanceStatus.INCIDENT, ProcessInstance.incident.is_not(None))
        )
    if filters.stuck:
        query = query.where(
            exists().where(
                HumanTask.instance_id == ProcessInstance.id,
                HumanTask.state.in_(OPEN_TASK_STATES),
                HumanTask.stuck_at <= now,
            )
        )
    return query


def _rows(filters: Filters, now: datetime) -> tuple[list[Row], int, dict[str, str]]:
    """One page of instances, newest first; the number of matches; the deployed processes (id → name)."""
    query = _listing(filters, now)
    with read_session() as session:
        total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        found = session.execute(
            query.order_by(ProcessInstance.started_at.desc(), ProcessInstance.id)
            .limit(PAGE_SIZE)
            .offset((filters.page - 1) * PAGE_SIZE)
        ).all()
        ids = [r.id for r in found]
        steps: dict[str, list[tuple[int, str, bool]]] = {}
        for task in session.execute(
            select(HumanTask.id, HumanTask.instance_id, HumanTask.name, HumanTask.stuck_at)
            .where(HumanTask.instance_id.in_(ids), HumanTask.state.in_(OPEN_TASK_STATES))
            .order_by(HumanTask.id)
        ):
            stuck = task.stuck_at is not None and task.stuck_at <= now
            steps.setdefault(task.instance_id, []).append((task.id, task.name, stuck))
        processes = process_names(session)
    rows = [
        Row(
            r.id,
            r.process_id,
            r.name or r.process_id,
            r.version,
            r.customer_id,
            r.customer_name,
            r.status,
            r.incident,
            r.started_at,
            r.ended_at,
            steps.get(r.id, []),
        )
        for r in found
    ]
    return rows, total, processes


@bp.get("/")
@requires(*READ_INSTANCES)
def index() -> ResponseReturnValue:
    filters, errors = Filters.read(request.args)
    rows, total, processes = _rows(filters, runtime().clock.now())
    pages = page_count(total, PAGE_SIZE)
    body = render_template(
        "instances/index.html",
        rows=rows,
        total=total,
        pages=pages,
        filters=filters,
        errors=errors,
        processes=processes,
        statuses=STATUSES,
        moment=moment,
    )
    return body, 422 if errors else 200


# -- one instance --------------------------------------------------------------------------------------------
def state_size(state_json: str) -> tuple[str, str]:
    """The size of an instance's engine state, readable ("28 KB") and exact ("28,672 bytes")."""
    size = len(state_json.encode("utf-8"))
    exact = _("%(num)s bytes", num=format_decimal(size))
    if size < 1024:
        return exact, exact
    if size < 1024 * 1024:
        return _("%(num)s KB", num=format_decimal(round(size / 1024))), exact
    return _("%(num)s MB", num=format_decimal(round(size / (1024 * 1024), 1))), exact


@dataclass(frozen=True)
class Entry:
    """One line of the timeline."""

    at: datetime
    actor: str
    action: str
    label: str
    facts: list[tuple[str, str]]  # (what, value) shown inline: step, reason, message, before, after
    payload: str  # the whole payload, pretty JSON, behind a disclosure


def readable(value: Any) -> str:
    """A payload value as one line: ``key: value`` pairs for a mapping, comma-separated for a list, — for none."""
    if isinstance(value, Mapping):
        return ", ".join(f"{key}: {readable(item)}" for key, item in sorted(value.items())) or "—"
    if isinstance(value, list | tuple):
        return ", ".join(readable(item) for item in value) or "—"
    return "—" if value is None else str(value)


def _entry(event: AuditEvent) -> Entry:
    try:
        payload = json.loads(event.payload)
    except ValueError:
        payload = event.payload
    facts: list[tuple[str, str]] = []
    if isinstance(payload, dict):
        step = payload.get("name") or payload.get("element")
        shown = [
            (_("Step"), step),
            (_("Reason"), payload.get("reason")),
            (_("Message"), payload.get("message") or payload.get("incident")),
            (_("Before"), payload.get("before")),
            (_("After"), payload.get("after")),
        ]
        facts = [(what, readable(value)) for what, value in shown if value not in (None, "", {}, [])]
    pretty = json.dumps(payload, ensure_ascii=False, sort_keys=True, indent=2, default=str)
    return Entry(event.at, event.actor, event.action, action_label(event.action), facts, pretty)


def _page(
    instance_id: str, errors: Mapping[str, Mapping[str, str]] | None = None, form: Mapping[str, str] | None = None
) -> str:
    view = runtime().instance_view(instance_id)
    instance = view.instance
    now = runtime().clock.now()
    with read_session() as session:
        definition = session.execute(
            select(ProcessDefinition.name, ProcessDefinition.version).where(
                ProcessDefinition.id == instance.definition_id
            )
        ).one()
        customer = session.get(Customer, instance.customer_id) if instance.customer_id else None
        tasks = list(
            session.execute(
                select(HumanTask)
                .where(HumanTask.instance_id == instance_id, HumanTask.state.in_(OPEN_TASK_STATES))
                .order_by(HumanTask.id)
            ).scalars()
        )
        events = session.execute(
            select(AuditEvent).where(AuditEvent.instance_id == instance_id).order_by(AuditEvent.seq)
        ).scalars()
        timeline = [_entry(e) for e in events]
    return render_template(
        "instances/show.html",
        view=view,
        instance=instance,
        definition=definition,
        customer=customer,
        tasks=tasks,
        timeline=timeline,
        data=json.dumps(view.data, ensure_ascii=False, sort_keys=True, indent=2, default=str),
        state_size=state_size(instance.state_json),
        now=now,
        live=instance.status not in FINAL_STATUSES,
        may_operate=me().has(*LEADS),
        errors=errors or {},
        form=form or {},
        moment=moment,
    )


@bp.get("/<instance_id>")
@requires(*READ_INSTANCES)
def show(instance_id: str) -> ResponseReturnValue:
    return _page(instance_id)


@bp.get("/<instance_id>/diagram.bpmn")
@requires(*READ_INSTANCES)
def diagram(instance_id: str) -> ResponseReturnValue:
    """The BPMN XML of the definition the instance runs (the viewer draws it)."""
    with read_session() as session:
        found = session.execute(
            select(ProcessDefinition.bpmn_xml)
            .join(ProcessInstance, ProcessInstance.definition_id == ProcessDefinition.id)
            .where(ProcessInstance.id == instance_id)
        ).scalar_one_or_none()
    if found is None:
        raise NotFound(f"process instance {instance_id} does not exist")
    return Response(found, mimetype="application/xml")


def _variables(text: str) -> tuple[dict[str, Any] | None, str | None]:
    """The retry form's optional variables: a JSON object within the request limits, or a message saying why not."""
    if not text.strip():
        return None, None
    try:
        value = payload_limits.loads(text)
    except json.JSONDecodeError as exc:
        return None, _("Variables: not valid JSON (%(reason)s).", reason=exc.msg)
    except PayloadRefused as exc:
        return None, _("Variables: %(problem)s.", problem=next(iter(exc.fields.values())))
    if not isinstance(value, dict):
        return None, _('Variables: write a JSON object, e.g. {"delay": "P2D"}.')
    return value, None


def _run(operation: str, instance_id: str, element: str, reason: str, data: dict[str, Any] | None) -> str:
    rt, actor = runtime(), me().username
    if operation == "cancel":
        rt.cancel(instance_id, actor=actor, reason=reason)
        return _("Instance cancelled.")
    if operation == "retry":
        status = rt.retry(instance_id, actor=actor, reason=reason, data=data)
        return _("Incident retried; the instance is now %(status)s.", status=status_label(status))
    if operation == "skip":
        status = rt.skip(instance_id, element, actor=actor, reason=reason)
        return _("Step skipped; the instance is now %(status)s.", status=status_label(status))
    status = rt.repeat(instance_id, element, actor=actor, reason=reason)
    return _("The step runs again; the instance is now %(status)s.", status=status_label(status))


@bp.post("/<instance_id>/<any(cancel, retry, skip, repeat):operation>")
@requires(*LEADS)
def operate(instance_id: str, operation: str) -> ResponseReturnValue:
    """One operation of the form; a missing reason or step, or a refusal by the engine, comes back inline on the
    operation's form with what was typed, and nothing is changed."""
    reason = request.form.get("reason", "").strip()
    element = request.form.get("element", "").strip()
    errors: dict[str, str] = {}
    if operation in ("skip", "repeat") and not element:
        errors["element"] = _("Step: choose the step.")
    if not reason:
        errors["reason"] = _("Reason: say why; it is kept in the audit trail.")
    data, problem = _variables(request.form.get("variables", "")) if operation == "retry" else (None, None)
    if problem:
        errors["variables"] = problem
    code = 422
    if not errors:
        try:
            flash(_run(operation, instance_id, element, reason, data), "success")
            return redirect(url_for("instances.show", instance_id=instance_id), 303)
        except FormValidationError as exc:
            errors = {e.field: e.message for e in exc.errors}
        except EngineError as exc:
            errors, code = {"operation": str(exc)}, status_of(exc)
    return _page(instance_id, errors={operation: errors}, form=request.form), code
