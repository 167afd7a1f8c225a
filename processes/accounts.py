"""Customer accounts kept by people: create, edit, archive and the contacts, each change checked field by field and
audited with its before/after in the caller's transaction; and the start guard that keeps processes to customers
on file (one open customer journey each)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session

from engine import (
    OPEN_STATUSES,
    AuditAction,
    NotFound,
    StartRefused,
    StartRequest,
    append_audit,
)
from engine.models import ProcessInstance
from processes.customers import (
    Contact,
    Customer,
    CustomerError,
    account,
    clean_contact,
    clean_customer,
    create_customer,
    record_mrr,
)
from processes.surveys import SurveyAnswer, SurveyLink

JOURNEY = "customer_journey"


class CustomerNotFound(NotFound):
    """No customer (or contact) with that id: the web answers 404, the CLI names it."""


def find(session: Session, customer_id: str) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise CustomerNotFound(f"customer {customer_id!r} does not exist")
    return customer


def next_id(session: Session) -> str:
    """The first free id of the C-0001 series."""
    number = session.execute(select(func.count()).select_from(Customer)).scalar_one() + 1
    while session.get(Customer, f"C-{number:04d}") is not None:
        number += 1
    return f"C-{number:04d}"


def contact_record(contact: Contact) -> dict[str, Any]:
    """A contact's fields as the audit (before/after) and the API show them."""
    return {
        "id": contact.id,
        "name": contact.name,
        "email": contact.email,
        "role": contact.role,
        "language": contact.language,
    }


def _audit(session: Session, now: datetime, actor: str, action: str, customer_id: str, **payload: Any) -> None:
    append_audit(session, at=now, actor=actor, action=action, customer_id=customer_id, payload=payload)


def _writable(customer: Customer) -> None:
    if customer.purged_at is not None:
        raise CustomerError({"id": f"customer {customer.id!r} was purged and cannot be changed"})


# -- the account -----------------------------------------------------------------------------------------------
def create(session: Session, raw: Mapping[str, Any], *, now: datetime, actor: str) -> Customer:
    """A new customer from form/CLI/API values (id generated when not given); audited as customer_created."""
    values = clean_customer(raw, new=True)
    customer_id = values.pop("id", None) or next_id(session)
    if session.get(Customer, customer_id) is not None:
        raise CustomerError({"id": f"customer {customer_id!r} exists already"})
    values = {name: value for name, value in values.items() if value is not None}
    customer = create_customer(session, customer_id, values.pop("name"), now=now, **values)
    _audit(session, now, actor, AuditAction.CUSTOMER_CREATED, customer.id, before=None, after=account(customer))
    return customer


def update(session: Session, customer_id: str, raw: Mapping[str, Any], *, now: datetime, actor: str) -> Customer:
    """Change any account fields; an MRR change is recorded as a movement (now). Audited as customer_updated with
    the changed fields only; nothing changed writes nothing."""
    customer = find(session, customer_id)
    _writable(customer)
    if "id" in raw and raw["id"] not in (None, "", customer.id):
        raise CustomerError({"id": "cannot be changed"})
    values = clean_customer({k: v for k, v in raw.items() if k != "id"}, new=False)
    start = values.get("contract_start", customer.contract_start)
    renewal = values.get("renewal_date", customer.renewal_date)
    if start and renewal and renewal < start:
        raise CustomerError({"renewal_date": "must not be before the contract start"})
    before = account(customer)
    for name, value in values.items():
        if name == "mrr":
            if value != customer.mrr:
                record_mrr(session, customer, now, value)
        else:
            setattr(customer, name, value)
    after = account(customer)
    changed = [name for name in after if after[name] != before[name]]
    if changed:
        customer.updated_at = now
        _audit(
            session,
            now,
            actor,
            AuditAction.CUSTOMER_UPDATED,
            customer.id,
            before={name: before[name] for name in changed},
            after={name: after[name] for name in changed},
        )
    return customer


def archive(session: Session, customer_id: str, *, now: datetime, actor: str, archived: bool = True) -> Customer:
    """Archive (hide from the lists, refuse new processes) or unarchive; audited when it changes."""
    customer = find(session, customer_id)
    _writable(customer)
    if (customer.archived_at is not None) == archived:
        return customer
    before = customer.archived_at.isoformat() if customer.archived_at else None
    customer.archived_at = now if archived else None
    customer.updated_at = now
    action = AuditAction.CUSTOMER_ARCHIVED if archived else AuditAction.CUSTOMER_UNARCHIVED
    after = now.isoformat() if archived else None
    _audit(session, now, actor, action, customer.id, before={"archived_at": before}, after={"archived_at": after})
    return customer


# -- contacts --------------------------------------------------------------------------------------------------
def contacts(session: Session, customer_id: str) -> list[Contact]:
    return list(
        session.execute(select(Contact).where(Contact.customer_id == customer_id).order_by(Contact.id)).scalars()
    )


def _find_contact(session: Session, customer_id: str, contact_id: int) -> Contact:
    contact = session.get(Contact, contact_id)
    if contact is None or contact.customer_id != customer_id:
        raise CustomerNotFound(f"customer {customer_id!r} has no contact {contact_id}")
    return contact


def add_contact(session: Session, customer_id: str, raw: Mapping[str, Any], *, now: datetime, actor: str) -> Contact:
    customer = find(session, customer_id)
    _writable(customer)
    values = clean_contact(raw, new=True)
    contact = Contact(
        customer_id=customer.id,
        name=values["name"],
        email=values["email"],
        role=values.get("role") or "",
        language=values.get("language") or "en",
        created_at=now,
    )
    session.add(contact)
    session.flush()
    _audit(session, now, actor, AuditAction.CONTACT_ADDED, customer.id, before=None, after=contact_record(contact))
    return contact


def edit_contact(
    session: Session, customer_id: str, contact_id: int, raw: Mapping[str, Any], *, now: datetime, actor: str
) -> Contact:
    _writable(find(session, customer_id))
    contact = _find_contact(session, customer_id, contact_id)
    values = clean_contact(raw, new=False)
    before = contact_record(contact)
    for name, value in values.items():
        setattr(contact, name, value if value is not None else "")
    after = contact_record(contact)
    changed = [name for name in after if after[name] != before[name]]
    if changed:
        before_changed = {name: before[name] for name in changed}
        after_changed = {name: after[name] for name in changed}
        payload = {"contact_id": contact.id, "before": before_changed, "after": after_changed}
        _audit(session, now, actor, AuditAction.CONTACT_UPDATED, customer_id, **payload)
    return contact


def remove_contact(session: Session, customer_id: str, contact_id: int, *, now: datetime, actor: str) -> None:
    _writable(find(session, customer_id))
    contact = _find_contact(session, customer_id, contact_id)
    before = contact_record(contact)
    # the answers and links stay the customer's; they no longer name the removed person
    for table in (SurveyAnswer, SurveyLink):
        session.execute(sql_update(table).where(table.contact_id == contact.id).values(contact_id=None))
    session.execute(delete(Contact).where(Contact.id == contact.id))
    session.expunge(contact)
    _audit(session, now, actor, AuditAction.CONTACT_REMOVED, customer_id, before=before, after=None)


# -- the start guard -------------------------------------------------------------------------------------------
def guard_start(request: StartRequest) -> None:
    """Refuse a start for a customer not on file, archived or purged, and a second open customer journey.
    A start without a customer stays allowed: the engine is generic."""
    customer_id = request.customer_id
    if not customer_id:
        return
    customer = request.session.get(Customer, customer_id)
    if customer is None:
        raise StartRefused(f"customer {customer_id!r} does not exist")
    if customer.purged_at is not None:
        raise StartRefused(f"customer {customer_id!r} was purged; no process can start for it")
    if customer.archived_at is not None:
        raise StartRefused(f"customer {customer_id!r} is archived; unarchive it to start a process")
    if request.process_id == JOURNEY:
        open_journey = request.session.execute(
            select(ProcessInstance.id)
            .where(
                ProcessInstance.process_id == JOURNEY,
                ProcessInstance.customer_id == customer_id,
                ProcessInstance.status.in_(OPEN_STATUSES),
            )
            .limit(1)
        ).scalar()
        if open_journey is not None:
            raise StartRefused(f"customer {customer_id!r} already has an open customer journey ({open_journey})")
