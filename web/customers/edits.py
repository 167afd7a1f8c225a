"""The forms that change customers: create, edit, archive / unarchive, and add / edit / remove contacts. Each change
is one audited transaction (processes.accounts); a refused form comes back with its values and the errors inline."""

from __future__ import annotations

from collections.abc import Mapping

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from processes import accounts
from processes.customers import CONTACT_FIELDS, FIELDS, SEGMENTS, STAGES, Customer, CustomerError, account
from web.accounts.permissions import requires
from web.context import audited_unit, me, read_session
from web.customers import WRITE, bp, labels
from web.customers.pages import render_show


def _messages(exc: CustomerError) -> dict[str, str]:
    """The service's messages (English, naming the field) as the page shows them, beside each field."""
    return {
        name: _(
            "%(field)s: %(problem)s", field=labels.label(labels.FIELD_LABELS, name), problem=labels.problem(message)
        )
        for name, message in exc.fields.items()
    }


def _form_values(names: tuple[str, ...]) -> dict[str, str]:
    return {name: request.form.get(name, "") for name in names if name in request.form}


def _render_form(customer: Customer | None, values: Mapping[str, str], errors: Mapping[str, str]) -> str:
    return render_template(
        "customers/form.html",
        customer=customer,
        values=values,
        errors=errors,
        segments=SEGMENTS,
        stages=STAGES,
        labels=labels,
    )


def _customer(customer_id: str) -> Customer:
    with read_session() as session:
        return accounts.find(session, customer_id)


@bp.get("/new")
@requires(*WRITE)
def new() -> ResponseReturnValue:
    defaults = {"segment": "smb", "plan": "standard", "mrr": "0", "currency": "USD", "stage": "prospect"}
    return _render_form(None, {**defaults, "csm_owner": me().username}, {})


@bp.post("/new")
@requires(*WRITE)
def create() -> ResponseReturnValue:
    values = _form_values(FIELDS)
    try:
        with audited_unit() as u:
            customer = accounts.create(u.session, values, now=u.now, actor=me().username)
            customer_id = customer.id
    except CustomerError as exc:
        return _render_form(None, values, _messages(exc)), 422
    flash(_("Customer %(id)s created.", id=customer_id), "success")
    return redirect(url_for("customers.show", customer_id=customer_id))


@bp.get("/<customer_id>/edit")
@requires(*WRITE)
def edit(customer_id: str) -> ResponseReturnValue:
    customer = _customer(customer_id)
    current = {name: "" if value is None else str(value) for name, value in account(customer).items()}
    return _render_form(customer, current, {})


@bp.post("/<customer_id>/edit")
@requires(*WRITE)
def update(customer_id: str) -> ResponseReturnValue:
    customer = _customer(customer_id)
    values = _form_values(tuple(name for name in FIELDS if name != "id"))
    try:
        with audited_unit() as u:
            accounts.update(u.session, customer_id, values, now=u.now, actor=me().username)
    except CustomerError as exc:
        return _render_form(customer, {**values, "id": customer_id}, _messages(exc)), 422
    flash(_("Customer %(id)s saved.", id=customer_id), "success")
    return redirect(url_for("customers.show", customer_id=customer_id))


def _archive(customer_id: str, archived: bool) -> ResponseReturnValue:
    try:
        with audited_unit() as u:
            accounts.archive(u.session, customer_id, now=u.now, actor=me().username, archived=archived)
    except CustomerError as exc:
        flash(" ".join(_messages(exc).values()), "error")
        return redirect(url_for("customers.show", customer_id=customer_id))
    done = _("Customer %(id)s archived.", id=customer_id) if archived else _("Customer %(id)s is back.", id=customer_id)
    flash(done, "success")
    return redirect(url_for("customers.show", customer_id=customer_id))


@bp.post("/<customer_id>/archive")
@requires(*WRITE)
def archive(customer_id: str) -> ResponseReturnValue:
    return _archive(customer_id, True)


@bp.post("/<customer_id>/unarchive")
@requires(*WRITE)
def unarchive(customer_id: str) -> ResponseReturnValue:
    return _archive(customer_id, False)


@bp.post("/<customer_id>/contacts")
@requires(*WRITE)
def add_contact(customer_id: str) -> ResponseReturnValue:
    values = _form_values(CONTACT_FIELDS)
    try:
        with audited_unit() as u:
            accounts.add_contact(u.session, customer_id, values, now=u.now, actor=me().username)
    except CustomerError as exc:
        return render_show(customer_id, contact_errors=_messages(exc), contact_form=values), 422
    flash(_("Contact added."), "success")
    return redirect(url_for("customers.show", customer_id=customer_id, _anchor="contacts"))


@bp.post("/<customer_id>/contacts/<int:contact_id>")
@requires(*WRITE)
def edit_contact(customer_id: str, contact_id: int) -> ResponseReturnValue:
    values = _form_values(CONTACT_FIELDS)
    try:
        with audited_unit() as u:
            accounts.edit_contact(u.session, customer_id, contact_id, values, now=u.now, actor=me().username)
    except CustomerError as exc:
        errors = {f"{contact_id}-{name}": text for name, text in _messages(exc).items()}
        return render_show(customer_id, contact_errors=errors, contact_form=values), 422
    flash(_("Contact saved."), "success")
    return redirect(url_for("customers.show", customer_id=customer_id, _anchor="contacts"))


@bp.post("/<customer_id>/contacts/<int:contact_id>/delete")
@requires(*WRITE)
def remove_contact(customer_id: str, contact_id: int) -> ResponseReturnValue:
    try:
        with audited_unit() as u:
            accounts.remove_contact(u.session, customer_id, contact_id, now=u.now, actor=me().username)
    except CustomerError as exc:
        flash(" ".join(_messages(exc).values()), "error")
    else:
        flash(_("Contact removed."), "success")
    return redirect(url_for("customers.show", customer_id=customer_id, _anchor="contacts"))
