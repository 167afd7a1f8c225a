"""``jornada events send CUSTOMER NAME [--at ISO] [--properties JSON]``: one product event, stored, delivered and
handed to the playbook rules exactly as ``POST /api/v1/events`` does. A wrong value prints why and exits with 2."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime

from engine import Runtime
from processes import playbooks
from processes.ingest import Incoming, ingest, known_customers
from processes.playbook_rules import EVENT_NAME


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="events_action", required=True)
    send = sub.add_parser("send", help="store one product event, deliver it and apply the playbook rules")
    send.add_argument("customer_id")
    send.add_argument("name")
    send.add_argument("--at", help="ISO 8601 date-time (UTC when no offset; default now)")
    send.add_argument("--properties", default="{}", help="a JSON object")


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def run(rt: Runtime, args: argparse.Namespace) -> int:
    if not EVENT_NAME.match(args.name):
        return _fail(f"name {args.name!r}: use letters, digits and _ . : - only")
    try:
        properties = json.loads(args.properties)
    except json.JSONDecodeError as exc:
        return _fail(f"--properties is not valid JSON ({exc})")
    if not isinstance(properties, dict):
        return _fail("--properties must be a JSON object")
    at = None
    if args.at:
        try:
            at = datetime.fromisoformat(args.at)
        except ValueError:
            return _fail(f"--at {args.at!r} is not an ISO 8601 date-time")
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
    with rt.unit() as u:
        customers = known_customers(u.session, {args.customer_id})
        customer = customers.get(args.customer_id)
        if customer is None or customer.purged_at is not None:
            return _fail(f"customer {args.customer_id!r} does not exist or was purged")
        event = Incoming(customer_id=args.customer_id, name=args.name, at=at or u.now, properties=properties)
        result = ingest(rt, u, [event], customers, actor=args.actor, source="cli")
    started = playbooks.start_pending(rt, run_ids=[run.id for run in result.requested]) if result.requested else []
    delivered = [iid for _, ids in result.delivered for iid in ids]
    print(f"event {args.name!r} stored for {args.customer_id}")
    if delivered:
        print(f"delivered to {', '.join(delivered)}")
    if started:
        print(f"playbooks started: {', '.join(started)}")
    return 0
