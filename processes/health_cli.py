"""``jornada health``: recompute the health score of some or all customers (backfills, after changing the weights:
the one place a full scan is meant), and show one customer's score with its components."""

from __future__ import annotations

import argparse
import sys

from sqlalchemy import select

from engine import Runtime
from processes import health
from processes.customers import Customer
from processes.playbooks import start_pending

BATCH = 500  # customers per transaction


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="health_action", required=True)
    again = sub.add_parser("recompute", help="recompute and store the health of the customers named, or of all")
    which = again.add_mutually_exclusive_group(required=True)
    which.add_argument("--customer", action="append", metavar="ID", help="a customer id (repeatable)")
    which.add_argument("--all", action="store_true", help="every customer not purged")
    sub.add_parser("show", help="a customer's score, band and components").add_argument("customer_id")


def run(rt: Runtime, args: argparse.Namespace) -> int:
    if args.health_action == "show":
        return _show(rt, args.customer_id)
    if args.all:
        with rt.store.session() as session:
            ids = list(
                session.execute(select(Customer.id).where(Customer.purged_at.is_(None)).order_by(Customer.id)).scalars()
            )
    else:
        ids = sorted(set(args.customer))
        with rt.store.session() as session:
            known = set(session.execute(select(Customer.id).where(Customer.id.in_(ids))).scalars())
        missing = [cid for cid in ids if cid not in known]
        if missing:
            print(f"error: no customer {', '.join(missing)}", file=sys.stderr)
            return 2
    changed = 0
    for start in range(0, len(ids), BATCH):
        with rt.unit() as u:
            stored = health.recompute_many(u.session, ids[start : start + BATCH], u.now, rt.config, "recompute command")
        changed += len(stored)
        if len(ids) > BATCH:
            print(f"\r{min(start + BATCH, len(ids))}/{len(ids)}", end="", file=sys.stderr, flush=True)
    if len(ids) > BATCH:
        print(file=sys.stderr)
    started = start_pending(rt)
    print(f"{len(ids)} customers recomputed, {changed} changed, {len(started)} playbooks started")
    return 0


def _show(rt: Runtime, customer_id: str) -> int:
    with rt.store.session() as session:
        if session.get(Customer, customer_id) is None:
            print(f"error: no customer {customer_id}", file=sys.stderr)
            return 2
        found = health.compute(session, customer_id, rt.clock.now(), rt.config)
    print(f"{customer_id}: {found.score} ({found.band})")
    for key in health.COMPONENT_KEYS:
        part = found.components[key]
        value = "-" if part.value is None else f"{part.value:5.1f}"
        print(f"  {key:<12} {value:>5}  x {part.weight:.2f}  {part.detail}")
    return 0
