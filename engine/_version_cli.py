"""``jornada instances migrate PROCESS --from N --to M [--dry-run] [--instance ID ...]``: move running instances
to another version from the command line (engine/_versions.py). Without ``--instance``, every instance the
preview finds movable moves."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine._runtime import Runtime


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["migrate"])
    parser.add_argument("process", help="the process id")
    parser.add_argument("--from", dest="from_version", type=int, required=True, help="the version they are on")
    parser.add_argument("--to", dest="to_version", type=int, required=True, help="the version to move them to")
    parser.add_argument("--instance", action="append", default=[], help="an instance to move (repeat); default all")
    parser.add_argument("--dry-run", action="store_true", help="only list which can move and why the others cannot")


def run(rt: Runtime, args: argparse.Namespace) -> int:
    preview = rt.migration_preview(args.process, args.from_version, args.to_version)
    chosen = set(args.instance)
    listed = [c for c in preview.candidates if not chosen or c.instance_id in chosen]
    if args.dry_run:
        for c in listed:
            steps = ",".join(s.element_id for s in c.steps) or "-"
            verdict = "can move" if c.movable else "cannot move: " + "; ".join(c.reasons)
            print(f"{c.instance_id}\t{c.customer_id or '-'}\t{c.status}\t{steps}\t{verdict}")
        print(f"{len([c for c in listed if c.movable])} of {len(listed)} listed can move ({preview.total} open)")
        return 0
    ids = list(args.instance) or [c.instance_id for c in preview.movable]
    if not ids:
        print("no instance can move")
        return 1
    outcome = rt.migrate_instances(args.process, args.from_version, args.to_version, ids, actor=args.actor)
    for instance_id in outcome.moved:
        print(f"{instance_id}\tmoved to version {args.to_version}")
    for instance_id, reasons in outcome.refused.items():
        print(f"{instance_id}\tnot moved: {'; '.join(reasons)}")
    return 0 if not outcome.refused else 1
