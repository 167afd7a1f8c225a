"""The customers list and the customer 360 page (reads only)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Response, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select

from engine import OPEN_STATUSES, NotFound
from engine.models import ProcessDefinition, ProcessInstance
from processes import accounts
from processes.accounts import JOURNEY
from processes.customer_profile import profile
from processes.customer_query import SORTS, ListFilters, customers_page, owners
from processes.customers import BANDS, LANGUAGES, SEGMENTS, STAGES
from web.accounts.permissions import READ_INSTANCES, WORK_TASKS, requires
from web.context import me, read_session, runtime
from web.customers import READ, WRITE, bp, display, labels
from web.paging import page_count
from web.params import whole_number

PAGE_SIZE = 50
MAX_PAGE = 1_000_000
VIEWS = ("mine", "all", "archived")


def _filters(args: Mapping[str, str]) -> tuple[str, ListFilters, dict[str, str]]:
    """The view and filters of the query string; a value that is not allowed is named in ``errors``."""
    errors: dict[str, str] = {}
    view = args.get("view") or ("mine" if me().has("staff") and not me().has("lead", "admin") else "all")
    if view not in VIEWS:
        errors["view"] = _("“%(value)s” is not a view.", value=view)
        view = "all"
    choices = {"segment": SEGMENTS, "stage": STAGES, "band": (*BANDS, "none")}
    picked: dict[str, str | None] = {}
    for name, allowed in choices.items():
        value = args.get(name) or None
        if value is not None and value not in allowed:
            errors[name] = _("“%(value)s” is not one of the choices.", value=value)
            value = None
        picked[name] = value
    sort = args.get("sort") or "health"
    if sort not in SORTS:
        errors["sort"] = _("“%(value)s” is not a column to sort by.", value=sort)
        sort = "health"
    # an offset past what SQL integers hold would be a database error, not an empty page
    page = whole_number(args.get("page") or "1", high=MAX_PAGE)
    if page is None:
        errors["page"] = _("The page must be a whole number.")
        page = 1
    owner = (args.get("owner") or "").strip() or None
    filters = ListFilters(
        owner=me().username if view == "mine" else owner,
        segment=picked["segment"],
        stage=picked["stage"],
        band=picked["band"],
        q=(args.get("q") or "").strip()[:100] or None,
        archived=view == "archived",
        sort=sort,
        descending=args.get("dir") == "desc",
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    return view, filters, errors


@bp.get("/")
@requires(*READ)
def index() -> ResponseReturnValue:
    view, filters, errors = _filters(request.args)
    now = runtime().clock.now()
    with read_session() as session:
        found = customers_page(session, filters, now)
        owner_names = owners(session)
    args = {k: v for k, v in request.args.items() if v and k != "page"}
    args["view"] = view

    def link(**changes: Any) -> str:
        merged = {**args, **changes}
        return url_for("customers.index", **{k: v for k, v in merged.items() if v not in (None, "")})

    def sort_link(column: str) -> str:
        descending = filters.sort == column and not filters.descending
        return link(sort=column, dir="desc" if descending else None)

    pages = page_count(found.total, PAGE_SIZE)
    body = render_template(
        "customers/index.html",
        view=view,
        views=VIEWS,
        found=found,
        filters=filters,
        errors=errors,
        args=args,
        owners=owner_names,
        page=filters.offset // PAGE_SIZE + 1,
        pages=pages,
        link=link,
        sort_link=sort_link,
        labels=labels,
        display=display,
        segments=SEGMENTS,
        stages=STAGES,
        bands=BANDS,
        may_write=me().has(*WRITE),
        now=now,
    )
    return body, 422 if errors else 200


@bp.get("/<customer_id>")
@requires(*READ)
def show(customer_id: str) -> ResponseReturnValue:
    return render_show(customer_id)


def render_show(
    customer_id: str, *, contact_errors: Mapping[str, str] | None = None, contact_form: Mapping[str, str] | None = None
) -> str:
    """The 360 page; a refused contact form is shown again with its values and errors."""
    now = runtime().clock.now()
    with read_session() as session:
        found = profile(session, customer_id, now)
        if found is None:
            raise NotFound(f"customer {customer_id!r} does not exist")
        customer = found.customer
    markers: dict[str, str] = {}
    if found.journey is not None:
        markers = runtime().instance_view(found.journey.id).markers
    usage = found.usage
    return render_template(
        "customers/show.html",
        p=found,
        customer=customer,
        usage=usage,
        markers=markers,
        stages=STAGES,
        mrr_chart=display.mrr_chart(found.mrr_history, customer.mrr, customer.currency, now),
        health_chart=display.health_chart(found.health_history) if len(found.health_history) > 1 else None,
        labels=labels,
        display=display,
        may_write=me().has(*WRITE) and customer.purged_at is None,
        may_read_instances=me().has(*READ_INSTANCES),
        may_work_tasks=me().has(*WORK_TASKS),
        contact_errors=contact_errors or {},
        open_contact=next((int(k.split("-")[0]) for k in contact_errors or {} if "-" in k), None),
        stage_pos=STAGES.index(customer.stage) if customer.stage in STAGES else -1,
        contact_form=contact_form or {},
        languages=LANGUAGES,
        now=now,
    )


@bp.get("/<customer_id>/journey.bpmn")
@requires(*READ)
def journey_diagram(customer_id: str) -> ResponseReturnValue:
    """The BPMN XML of the definition the customer's journey instance runs (the 360 page draws it)."""
    with read_session() as session:
        accounts.find(session, customer_id)
        xml = session.execute(
            select(ProcessDefinition.bpmn_xml)
            .join(ProcessInstance, ProcessInstance.definition_id == ProcessDefinition.id)
            .where(ProcessInstance.customer_id == customer_id, ProcessInstance.process_id == JOURNEY)
            .order_by(ProcessInstance.status.in_(OPEN_STATUSES).desc(), ProcessInstance.started_at.desc())
            .limit(1)
        ).scalar_one_or_none()
    if xml is None:
        raise NotFound(f"customer {customer_id!r} has no customer journey")
    return Response(xml, mimetype="application/xml")
