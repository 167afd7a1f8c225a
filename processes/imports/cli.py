"""``jornada import KIND FILE``: import a CSV file, or print every bad row and column and exit 2."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from engine import EngineError, Runtime
from processes.imports import COLUMNS, KINDS, NOUNS, ImportRefused, import_file, source_for

REFUSED = 2


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", choices=KINDS, help="what the file holds")
    parser.add_argument("file", help="a CSV file (UTF-8) with a header row")
    parser.epilog = "columns: " + "; ".join(f"{kind}: {','.join(columns)}" for kind, columns in COLUMNS.items())


def run(runtime: Runtime, args: argparse.Namespace) -> int:
    actor: str = getattr(args, "actor", None) or "cli"
    source = source_for(args.file)
    try:
        result = import_file(runtime, args.kind, source, actor=actor, progress=sys.stderr.isatty())
    except ImportRefused as refused:
        report(refused, args.file)
        return REFUSED
    except OSError as exc:
        print(f"error: cannot read {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return REFUSED
    except (EngineError, SQLAlchemyError, LookupError, ValueError) as exc:
        print(f"error: {args.file}: the import failed and nothing was imported: {exc}", file=sys.stderr)
        return REFUSED
    details = _details(result.__dict__)
    print(f"imported {result.rows} {NOUNS[args.kind]} from {args.file}" + (f" ({details})" if details else ""))
    if result.kept_mrr:
        names = ", ".join(result.kept_mrr[:5]) + (", ..." if len(result.kept_mrr) > 5 else "")
        print(
            f"note: the mrr column was left as it is for {len(result.kept_mrr)} existing customer(s) with an MRR "
            f"history ({names}): import an mrr file to record their movements"
        )
    return 0


def report(refused: ImportRefused, file: str) -> None:
    rows = len({e.row for e in refused.errors})
    print(f"{file}: nothing was imported: {refused.total} error(s) on {rows} row(s)", file=sys.stderr)
    for error in refused.errors:
        print(f"  {error}", file=sys.stderr)
    if refused.total > len(refused.errors):
        print(f"  ... and {refused.total - len(refused.errors)} more error(s)", file=sys.stderr)


def _details(result: dict[str, Any]) -> str:
    parts = [f"{result[k]} {k}" for k in ("created", "updated", "unchanged") if result[k]]
    if result["skipped"]:
        parts.append(f"{result['skipped']} already recorded")
    parts += [f"{n} {kind}" for kind, n in sorted(result["movements"].items())]
    return ", ".join(parts)
