"""``jornada customers``: add, edit, archive, list and show customers and add their contacts. Every change is
audited like the page's; a wrong value prints which field and why and exits with 2, never a traceback."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from sqlalchemy import func, select

from engine import OPEN_TASK_STATES, Runtime
from engine.models import HumanTask
from processes import accounts
from processes.customer_query import ListFilters, customers_page
from processes.customers import FIELDS, Customer, CustomerError, account

# option -> account field
OPTIONS = {
    "id": "id",
    "name": "name",
    "email": "email",
    "segment": "segment",
    "plan": "plan",
    "mrr": "mrr",
    "currency": "currency",
    "owner": "csm_owner",
    "contract_start": "contract_start",
    "renewal_date": "renewal_date",
    "stage": "stage",
    "external_id": "external_id",
}
FLAG = {field: option for option, field in OPTIONS.items()}


def _account_options(parser: argparse.ArgumentParser, *, with_id: bool) -> None:
    for option in OPTIONS:
        if option == "id" and not with_id:
            continue
        parser.add_argument("--" + option.replace("_", "-"), dest=option, metavar=option.upper())


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="customers_action", required=True)
    _account_options(sub.add_parser("add", help="add a customer (the id is generated when not given)"), with_id=True)
    edit = sub.add_parser("edit", help="change account fields (an MRR change is recorded as a movement)")
    edit.add_argument("customer_id")
    _account_options(edit, with_id=False)
    for name, help_text in (("archive", "archive a customer"), ("unarchive", "bring an archived customer back")):
        sub.add_parser(name, help=help_text).add_argument("customer_id")
    listing = sub.add_parser("list", help="list customers, at-risk first")
    listing.add_argument("--owner")
    listing.add_argument("--segment")
    listing.add_argument("--stage")
    listing.add_argument("--at-risk", action="store_true")
    listing.add_argument("--archived", action="store_true", help="the archived customers")
    listing.add_argument("--limit", type=int, default=100)
    sub.add_parser("show", help="one customer with contacts and open tasks").add_argument("customer_id")
    contact = sub.add_parser("contact-add", help="add a contact person")
    contact.add_argument("customer_id")
    contact.add_argument("--name", required=True)
    contact.add_argument("--email", required=True)
    contact.add_argument("--role", default="")
    contact.add_argument("--language", default="en", help="en or pt_BR")


def _given(args: argparse.Namespace, *, with_id: bool) -> dict[str, Any]:
    values = {}
    for option, field in OPTIONS.items():
        value = getattr(args, option, None)
        if value is not None and (with_id or option != "id"):
            values[field] = value
    return values


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _problems(exc: CustomerError) -> int:
    for field, message in exc.fields.items():
        flag = "--" + FLAG.get(field, field).replace("_", "-")
        print(f"error: {flag} ({field}): {message}", file=sys.stderr)
    return 2


def run(rt: Runtime, args: argparse.Namespace) -> int:
    action = args.customers_action
    try:
        if action == "list":
            return _list(rt, args)
        if action == "show":
            return _show(rt, args.customer_id)
        with rt.unit() as u:
            actor, now = args.actor, u.now
            if action == "add":
                customer = accounts.create(u.session, _given(args, with_id=True), now=now, actor=actor)
                message = f"customer {customer.id} added"
            elif action == "edit":
                values = _given(args, with_id=False)
                if not values:
                    return _fail("give at least one field to change, e.g. --plan growth")
                accounts.update(u.session, args.customer_id, values, now=now, actor=actor)
                message = f"customer {args.customer_id} updated"
            elif action in ("archive", "unarchive"):
                archived = action == "archive"
                accounts.archive(u.session, args.customer_id, now=now, actor=actor, archived=archived)
                message = f"customer {args.customer_id} {action}d"
            else:  # contact-add
                raw = {"name": args.name, "email": args.email, "role": args.role, "language": args.language}
                contact = accounts.add_contact(u.session, args.customer_id, raw, now=now, actor=actor)
                message = f"contact {contact.id} added to customer {args.customer_id}"
    except CustomerError as exc:
        return _problems(exc)
    except accounts.CustomerNotFound as exc:
        return _fail(str(exc))
    print(message)
    return 0


def _list(rt: Runtime, args: argparse.Namespace) -> int:
    if not 1 <= args.limit <= 10_000:
        return _fail("--limit must be between 1 and 10000")
    filters = ListFilters(
        owner=args.owner,
        segment=args.segment,
        stage=args.stage,
        at_risk=args.at_risk,
        archived=args.archived,
        limit=args.limit,
    )
    with rt.store.session() as session:
        page = customers_page(session, filters, rt.clock.now())
    print(
        f"{'id':<12} {'name':<28} {'segment':<11} {'owner':<10} {'stage':<11} {'mrr':>10} {'renewal':<10} "
        f"{'health':>6} {'band':<8} {'open':>4} {'over':>4} {'stuck':>5}"
    )
    for row in page.rows:
        c = row.customer
        health = f"{c.health_score:.0f}" if c.health_score is not None else "-"
        print(
            f"{c.id[:12]:<12} {c.name[:28]:<28} {c.segment:<11} {(c.csm_owner or '-')[:10]:<10} {c.stage:<11} "
            f"{c.mrr:>10.2f} {c.renewal_date.isoformat() if c.renewal_date else '-':<10} {health:>6} "
            f"{c.health_band or '-':<8} {row.open_tasks:>4} {row.overdue_tasks:>4} {row.stuck_tasks:>5}"
        )
    print(f"{len(page.rows)} of {page.total} customers")
    return 0


def _show(rt: Runtime, customer_id: str) -> int:
    with rt.store.session() as session:
        customer = session.get(Customer, customer_id)
        if customer is None:
            return _fail(f"customer {customer_id!r} does not exist")
        values = account(customer)
        for field in FIELDS:
            print(f"{field:<15} {values[field] if values[field] is not None else '-'}")
        health = "-" if customer.health_score is None else f"{customer.health_score:.0f} ({customer.health_band})"
        print(f"{'health':<15} {health}")
        if customer.archived_at:
            print(f"{'archived_at':<15} {customer.archived_at.isoformat()}")
        print("contacts:")
        for contact in accounts.contacts(session, customer_id):
            print(f"  {contact.id:>4} {contact.name} <{contact.email}> {contact.role or '-'} [{contact.language}]")
        open_tasks = session.execute(
            select(func.count()).where(HumanTask.customer_id == customer_id, HumanTask.state.in_(OPEN_TASK_STATES))
        ).scalar_one()
        print(f"open tasks: {open_tasks}")
    return 0
