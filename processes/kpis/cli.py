"""``jornada kpi cs --from YYYY-MM-DD --to YYYY-MM-DD [--segment S] [--owner O] [--json]``: the CS KPIs of a
period, as one JSON object or as a table with the formula beside each figure."""

from __future__ import annotations

import argparse
import json
import sys

from engine import Runtime
from processes.customers import SEGMENTS
from processes.kpis import _MONEY, _RATES, FORMULAS, CsKpis, cs_kpis


def configure(parser: argparse.ArgumentParser) -> None:
    """The options ``kpi cs`` adds to the ``kpi`` command (the period and --json come with the command)."""
    parser.add_argument("--segment", choices=SEGMENTS, help="cs: only customers of this segment")
    parser.add_argument("--owner", help="cs: only customers of this CSM owner")


def _shown(name: str, value: object) -> str:
    if value is None:
        return "-"
    if name in _RATES and isinstance(value, float):
        return f"{100 * value:.1f} %"
    if name in _MONEY and isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def print_table(figures: CsKpis) -> None:
    values = figures.as_json()
    width = max(len(name) for name in values)
    for name, value in values.items():
        print(f"{name:<{width}}  {_shown(name, value):>14}  {FORMULAS[name]}")


def run(rt: Runtime, args: argparse.Namespace) -> int:
    if args.first is None or args.last is None:
        print("error: kpi cs needs --from YYYY-MM-DD and --to YYYY-MM-DD", file=sys.stderr)
        return 2
    with rt.store.session() as session:
        figures = cs_kpis(
            session, first=args.first, last=args.last, segment=args.segment, owner=args.owner, config=rt.config
        )
    if args.json:
        print(json.dumps(figures.as_json(), indent=2))
    else:
        scope = " ".join(f"{k}={v}" for k, v in (("segment", args.segment), ("owner", args.owner)) if v)
        print(f"CS KPIs {args.first} .. {args.last} {scope}".rstrip())
        print_table(figures)
    return 0
