"""Customers through the API: list (filters, at-risk first, pages), read one with contacts, health and open tasks,
create, change, archive, and add or remove contacts. The same checks and audit as the pages (processes.accounts);
a wrong field is a 422 naming it, an unknown customer a 404."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any, ClassVar, Literal

from flask import jsonify, url_for
from flask.typing import ResponseReturnValue
from pydantic import Field
from sqlalchemy import func, select

from engine import OPEN_TASK_STATES, Unit
from engine.models import HumanTask
from processes import accounts
from processes.customer_profile import health_components
from processes.customer_query import ListFilters, customers_page
from processes.customers import Customer, CustomerError, account
from processes.health import HealthSnapshot
from web.api.base import InvalidInput, iso
from web.api.declare import Body, NoFields, Query, Response, Shape, When, operation, optional, pattern, text
from web.context import audited_unit, me, read_session, runtime

READ = ("staff", "lead", "admin", "auditor")
WRITE = ("staff", "lead", "admin")

Segment = Literal["smb", "mid_market", "enterprise"]
Stage = Literal["prospect", "onboarding", "active", "offboarding", "churned"]
Band = Literal["healthy", "watch", "at_risk"]
Language = Literal["en", "pt_BR"]
Sort = Literal["health", "name", "segment", "owner", "stage", "mrr", "renewal", "open", "overdue", "stuck"]
CUSTOMER_ID = pattern(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", "must be letters, digits, '.', '_' or '-' (at most 64)")
# \s differs between regex engines (Python's also matches \x1c-\x1f): spelled out so that all agree
EMAIL = pattern(r"^[^@\s\x1c-\x1f]+@[^@\s\x1c-\x1f]+\.[^@\s\x1c-\x1f]+$", "must be an e-mail address")
CURRENCY = pattern(r"^[A-Za-z]{3}$", "must be a 3-letter ISO 4217 code, e.g. USD")


# -- requests ----------------------------------------------------------------------------------------------------
class CustomerQuery(Query):
    owner: str | None = text(100, "CSM owner (user name)")
    segment: Segment | None = None
    stage: Stage | None = Field(None, description="lifecycle stage")
    band: Band | Literal["none"] | None = Field(None, description="health band, or none")
    q: str | None = text(100, "id, name, e-mail or external id contains")
    at_risk: bool = Field(False, description="only customers in the at-risk band")
    archived: bool = Field(False, description="the archived customers instead")
    sort: Sort = "health"
    dir: Literal["asc", "desc"] = "asc"
    limit: int = Field(50, ge=1, le=500, description="at most this many")
    offset: int = Field(0, ge=0, le=10_000_000, description="skip this many")


class CustomerPatch(Body):
    """Only the given fields change; the id cannot."""

    unknown_fields: ClassVar[dict[str, str]] = {"id": "cannot be changed"}

    name: str = optional(min_length=1, max_length=200, pattern=r"\S")
    email: str | None = Field(None, max_length=200, pattern=EMAIL)
    segment: Segment = optional()
    plan: str = optional(min_length=1, max_length=50, pattern=r"\S")
    mrr: float = optional(ge=0, le=1e12, allow_inf_nan=False, description="current MRR; a change is a movement")
    currency: str = optional(pattern=CURRENCY, description="ISO 4217 code")
    csm_owner: str | None = text(100)
    contract_start: date | None = None
    renewal_date: date | None = None
    stage: Stage = optional()
    external_id: str | None = text(100, "the CRM's id")


class CustomerRequest(CustomerPatch):
    id: str | None = Field(None, pattern=CUSTOMER_ID, description="given, or generated in the C-0001 series")
    name: str = text(200, required=True)


class ContactRequest(Body):
    name: str = text(200, required=True)
    email: str = Field(max_length=200, pattern=EMAIL)
    role: str | None = Field(None, max_length=100)
    language: Language = "en"


# -- responses ---------------------------------------------------------------------------------------------------
class CustomerShape(Shape):
    id: str
    name: str
    email: str | None
    segment: Segment
    plan: str
    mrr: float
    currency: str
    csm_owner: str | None
    contract_start: date | None
    renewal_date: date | None
    stage: Stage
    external_id: str | None
    health_score: float | None
    health_band: Band | None
    health_updated_at: When | None
    created_at: When
    updated_at: When | None
    archived_at: When | None


class CustomerListItem(CustomerShape):
    open_tasks: int
    overdue_tasks: int = Field(description="open tasks past their due date")
    stuck_tasks: int = Field(description="open tasks past their stuck threshold")
    trend: Literal["up", "down", "flat", "none"] = Field(description="vs ~30 days ago")


class CustomerList(Shape):
    customers: list[CustomerListItem]
    total: int = Field(description="customers matching the filters")
    limit: int
    offset: int


class Contact(Shape):
    id: int
    name: str
    email: str
    role: str
    language: Language


class HealthComponent(Shape):
    name: str
    value: float | None
    weight: float | None


class Health(Shape):
    score: float | None
    band: Band | None
    at: When | None
    components: list[HealthComponent]


class CustomerDetail(CustomerShape):
    contacts: list[Contact]
    health: Health
    open_tasks: int


class ContactRemoved(Shape):
    id: int
    removed: bool


ONE = Response(200, CustomerDetail, "The customer")


def customer_json(customer: Customer) -> dict[str, Any]:
    return {
        **account(customer),
        "health_score": customer.health_score,
        "health_band": customer.health_band,
        "health_updated_at": iso(customer.health_updated_at),
        "created_at": iso(customer.created_at),
        "updated_at": iso(customer.updated_at),
        "archived_at": iso(customer.archived_at),
    }


@contextmanager
def _change() -> Iterator[Unit]:
    """One audited transaction for a change; a refused field is a 422 naming it (an unknown id, a 404)."""
    try:
        with audited_unit() as u:
            yield u
    except CustomerError as exc:
        raise InvalidInput(exc.fields) from None


@operation(
    "get",
    "/customers",
    summary="Customers, at risk first (health band, then score), with open / overdue / stuck task counts",
    roles=READ,
    query=CustomerQuery,
    ok=Response(200, CustomerList, "A page of customers"),
)
def list_customers(query: CustomerQuery) -> ResponseReturnValue:
    filters = ListFilters(
        owner=query.owner,
        segment=query.segment,
        stage=query.stage,
        band=query.band,
        q=query.q,
        at_risk=query.at_risk,
        archived=query.archived,
        sort=query.sort,
        descending=query.dir == "desc",
        limit=query.limit,
        offset=query.offset,
    )
    with read_session() as session:
        page = customers_page(session, filters, runtime().clock.now())
        rows = [
            {
                **customer_json(row.customer),
                "open_tasks": row.open_tasks,
                "overdue_tasks": row.overdue_tasks,
                "stuck_tasks": row.stuck_tasks,
                "trend": row.trend,
            }
            for row in page.rows
        ]
    return jsonify({"customers": rows, "total": page.total, "limit": filters.limit, "offset": filters.offset})


def _detail(customer_id: str) -> dict[str, Any]:
    with read_session() as session:
        customer = accounts.find(session, customer_id)
        snapshot = session.execute(
            select(HealthSnapshot)
            .where(HealthSnapshot.customer_id == customer_id)
            .order_by(HealthSnapshot.at.desc(), HealthSnapshot.id.desc())
            .limit(1)
        ).scalar_one_or_none()
        open_tasks = session.execute(
            select(func.count()).where(HumanTask.customer_id == customer_id, HumanTask.state.in_(OPEN_TASK_STATES))
        ).scalar_one()
        components = [
            {"name": c.name, "value": c.value, "weight": c.weight}
            for c in (health_components(snapshot.components) if snapshot is not None else [])
        ]
        return {
            **customer_json(customer),
            "contacts": [accounts.contact_record(c) for c in accounts.contacts(session, customer_id)],
            "health": {
                "score": customer.health_score,
                "band": customer.health_band,
                "at": iso(snapshot.at) if snapshot is not None else None,
                "components": components,
            },
            "open_tasks": int(open_tasks),
        }


@operation(
    "get",
    "/customers/<customer_id>",
    summary="A customer with contacts, health components and open task count",
    roles=READ,
    ok=ONE,
)
def get_customer(customer_id: str) -> ResponseReturnValue:
    return jsonify(_detail(customer_id))


@operation(
    "post",
    "/customers",
    summary="Create a customer (audited)",
    roles=WRITE,
    body=CustomerRequest,
    ok=Response(201, CustomerDetail, "Created; Location names it", headers=("Location",)),
    errors=(409,),
)
def create_customer(body: CustomerRequest) -> ResponseReturnValue:
    with _change() as u:
        values = body.model_dump(exclude_unset=True)
        customer_id = accounts.create(u.session, values, now=u.now, actor=me().username).id
    location = url_for("api.get_customer", customer_id=customer_id)
    return jsonify(_detail(customer_id)), 201, {"Location": location}


@operation(
    "patch",
    "/customers/<customer_id>",
    summary="Change account fields (audited with before/after; an MRR change is a movement)",
    roles=WRITE,
    body=CustomerPatch,
    ok=ONE,
    errors=(409,),
)
def update_customer(customer_id: str, body: CustomerPatch) -> ResponseReturnValue:
    with _change() as u:
        accounts.update(u.session, customer_id, body.model_dump(exclude_unset=True), now=u.now, actor=me().username)
    return jsonify(_detail(customer_id))


def _archive(customer_id: str, archived: bool) -> ResponseReturnValue:
    with _change() as u:
        accounts.archive(u.session, customer_id, now=u.now, actor=me().username, archived=archived)
    return jsonify(_detail(customer_id))


@operation(
    "post",
    "/customers/<customer_id>/archive",
    summary="Archive: hidden from the list; no process may start for it",
    roles=WRITE,
    body=NoFields,
    ok=ONE,
    errors=(409,),
)
def archive_customer(customer_id: str, body: NoFields) -> ResponseReturnValue:
    return _archive(customer_id, True)


@operation(
    "post",
    "/customers/<customer_id>/unarchive",
    summary="Bring an archived customer back",
    roles=WRITE,
    body=NoFields,
    ok=ONE,
    errors=(409,),
)
def unarchive_customer(customer_id: str, body: NoFields) -> ResponseReturnValue:
    return _archive(customer_id, False)


@operation(
    "post",
    "/customers/<customer_id>/contacts",
    summary="Add a contact person (audited)",
    roles=WRITE,
    body=ContactRequest,
    ok=Response(201, Contact, "Added"),
    errors=(409,),
)
def add_contact(customer_id: str, body: ContactRequest) -> ResponseReturnValue:
    with _change() as u:
        values = body.model_dump(exclude_unset=True)
        contact = accounts.add_contact(u.session, customer_id, values, now=u.now, actor=me().username)
        shaped = accounts.contact_record(contact)
    return jsonify(shaped), 201


@operation(
    "delete",
    "/customers/<customer_id>/contacts/<int:contact_id>",
    summary="Remove a contact (audited; their survey answers stay the customer's)",
    roles=WRITE,
    ok=Response(200, ContactRemoved, "Removed"),
    errors=(409,),
)
def remove_contact(customer_id: str, contact_id: int) -> ResponseReturnValue:
    with _change() as u:
        accounts.remove_contact(u.session, customer_id, contact_id, now=u.now, actor=me().username)
    return jsonify({"id": contact_id, "removed": True})
