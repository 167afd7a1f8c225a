"""Customers through the API: list (filters, at-risk first, pages), read one with contacts, health and open tasks,
create, change, archive, and add or remove contacts. The same checks and audit as the pages (processes.accounts);
a wrong field is a 422 naming it, an unknown customer a 404."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import jsonify, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select

from engine.models import HumanTask
from engine.runtime import Unit
from processes import accounts
from processes.customer_profile import health_components
from processes.customer_query import OPEN_TASK, SORTS, ListFilters, customers_page
from processes.customers import BANDS, SEGMENTS, STAGES, Customer, CustomerError, account
from processes.health import HealthSnapshot
from web.api.base import InvalidInput, Reader, bp, iso, json_body
from web.context import audited_unit, me, read_session, runtime
from web.permissions import requires

READ = ("staff", "lead", "admin", "auditor")
WRITE = ("staff", "lead", "admin")
LIST_PARAMS = ("owner", "segment", "stage", "band", "q", "at_risk", "archived", "sort", "dir", "limit", "offset")


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


@bp.get("/customers")
@requires(*READ)
def list_customers() -> ResponseReturnValue:
    query = Reader(request.args, LIST_PARAMS)
    filters = ListFilters(
        owner=query.text("owner", max_length=100),
        segment=query.choice("segment", ("", *SEGMENTS), "") or None,
        stage=query.choice("stage", ("", *STAGES), "") or None,
        band=query.choice("band", ("", *BANDS, "none"), "") or None,
        q=query.text("q", max_length=100),
        at_risk=query.flag("at_risk"),
        archived=query.flag("archived"),
        sort=query.choice("sort", SORTS, "health"),
        descending=query.choice("dir", ("asc", "desc"), "asc") == "desc",
        limit=query.integer("limit", default=50, low=1, high=500),
        offset=query.integer("offset", default=0, low=0, high=10_000_000),
    )
    query.done()
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
            select(func.count()).where(HumanTask.customer_id == customer_id, HumanTask.state.in_(OPEN_TASK))
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


@bp.get("/customers/<customer_id>")
@requires(*READ)
def get_customer(customer_id: str) -> ResponseReturnValue:
    return jsonify(_detail(customer_id))


@bp.post("/customers")
@requires(*WRITE)
def create_customer() -> ResponseReturnValue:
    body = json_body()
    with _change() as u:
        customer_id = accounts.create(u.session, body, now=u.now, actor=me().username).id
    location = url_for("api.get_customer", customer_id=customer_id)
    return jsonify(_detail(customer_id)), 201, {"Location": location}


@bp.patch("/customers/<customer_id>")
@requires(*WRITE)
def update_customer(customer_id: str) -> ResponseReturnValue:
    body = json_body()
    with _change() as u:
        accounts.update(u.session, customer_id, body, now=u.now, actor=me().username)
    return jsonify(_detail(customer_id))


def _archive(customer_id: str, archived: bool) -> ResponseReturnValue:
    with _change() as u:
        accounts.archive(u.session, customer_id, now=u.now, actor=me().username, archived=archived)
    return jsonify(_detail(customer_id))


@bp.post("/customers/<customer_id>/archive")
@requires(*WRITE)
def archive_customer(customer_id: str) -> ResponseReturnValue:
    return _archive(customer_id, True)


@bp.post("/customers/<customer_id>/unarchive")
@requires(*WRITE)
def unarchive_customer(customer_id: str) -> ResponseReturnValue:
    return _archive(customer_id, False)


@bp.post("/customers/<customer_id>/contacts")
@requires(*WRITE)
def add_contact(customer_id: str) -> ResponseReturnValue:
    body = json_body()
    with _change() as u:
        contact = accounts.add_contact(u.session, customer_id, body, now=u.now, actor=me().username)
        shaped = accounts.contact_record(contact)
    return jsonify(shaped), 201


@bp.delete("/customers/<customer_id>/contacts/<int:contact_id>")
@requires(*WRITE)
def remove_contact(customer_id: str, contact_id: int) -> ResponseReturnValue:
    with _change() as u:
        accounts.remove_contact(u.session, customer_id, contact_id, now=u.now, actor=me().username)
    return jsonify({"id": contact_id, "removed": True})
