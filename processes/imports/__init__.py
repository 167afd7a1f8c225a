"""Importing CSV files of customers, MRR movements, survey answers and product events.

Every row is checked first (a pass over the whole file that keeps only what the checks need); a file with any bad
row imports nothing, and the refusal names every bad row and column. A good file is then written in one
transaction, with one ``import_completed`` audit event (kind, file name, rows, sha256): a failure while writing
rolls all of it back. Events and survey files may be long: they are read twice, streamed, and written in batches.
The customers whose answers, usage or MRR were imported have their health recomputed in the same transaction;
imported events are history, so they are not delivered to waiting instances and start no event playbooks.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar, cast

from sqlalchemy import select
from tqdm import tqdm

from engine import AuditAction, Runtime, append_audit
from processes import health, playbooks, surveys
from processes.customers import Customer
from processes.imports import writing
from processes.imports.reading import FileRefused, HeaderRefused, Reader, RowError, Source
from processes.imports.rows import COLUMNS, MESSAGES, CustomerRow, EventRow, MrrRow, Row, SurveyRow, parse

KINDS = tuple(COLUMNS)
# What one row of each kind is called in a report ("imported 3 customers").
NOUNS = {"customers": "customers", "mrr": "MRR movements", "surveys": "survey answers", "events": "events"}
MAX_LISTED = 10_000  # errors kept for the report; the rest are counted
R = TypeVar("R", bound=Row)

__all__ = [
    "COLUMNS",
    "KINDS",
    "MESSAGES",
    "ImportRefused",
    "ImportResult",
    "RowError",
    "Source",
    "import_file",
]


class ImportRefused(Exception):
    """The file has bad rows (or cannot be read): nothing was imported. ``errors`` lists them in file order (at
    most MAX_LISTED); ``total`` counts them all."""

    def __init__(self, kind: str, file_name: str, errors: list[RowError], total: int) -> None:
        self.kind, self.file_name, self.errors, self.total = kind, file_name, errors, total
        rows = len({e.row for e in errors})
        super().__init__(f"{file_name}: {total} error(s) on {rows} row(s); nothing was imported")


@dataclass
class ImportResult:
    kind: str
    file_name: str
    rows: int
    sha256: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    movements: dict[str, int] = field(default_factory=dict)
    kept_mrr: list[str] = field(default_factory=list)  # customers whose differing mrr column was left alone

    @property
    def summary(self) -> str:
        return f"imported {self.rows} {NOUNS[self.kind]} from {self.file_name}"


@dataclass
class Checked:
    """The first pass: the row count, the file's digest, the errors, and the rows kept for writing (customers and
    MRR files, which are written from memory; survey and event files are read again)."""

    rows: int = 0
    sha256: str = ""
    errors: list[RowError] = field(default_factory=list)
    total_errors: int = 0
    kept: list[Row] = field(default_factory=list)

    def add(self, error: RowError) -> None:
        self.total_errors += 1
        if len(self.errors) < MAX_LISTED:
            self.errors.append(error)


def import_file(runtime: Runtime, kind: str, source: Source, *, actor: str, progress: bool = False) -> ImportResult:
    """Check the whole file, then import all of it in one transaction; raises ImportRefused (nothing imported)."""
    if kind not in COLUMNS:
        raise ValueError(f"unknown import kind {kind!r} (one of {', '.join(KINDS)})")
    checked = check(runtime, kind, source, progress=progress)
    if checked.total_errors:
        raise ImportRefused(kind, source.name, checked.errors, checked.total_errors)
    with runtime.unit() as u:
        session = u.session
        if kind == "customers":
            done = writing.write_customers(session, cast(list[CustomerRow], checked.kept), actor=actor, now=u.now)
        elif kind == "mrr":
            done = writing.write_mrr(session, cast(list[MrrRow], checked.kept))
        else:
            reader = Reader(source, COLUMNS[kind])
            customers = writing.buckets(session)
            if kind == "surveys":
                answers = _bar(_valid_rows(SurveyRow, kind, reader), progress, checked.rows, "importing")
                done = writing.write_answers(session, answers, runtime.config, customers)
            else:
                events = _bar(_valid_rows(EventRow, kind, reader), progress, checked.rows, "importing")
                done = writing.write_events(session, events, customers, now=u.now)
            if reader.sha256 != checked.sha256:
                raise ImportRefused(kind, source.name, [RowError(1, "", "file_changed")], 1)
        result = ImportResult(
            kind,
            source.name,
            checked.rows,
            checked.sha256,
            created=done.created,
            updated=done.updated,
            unchanged=done.unchanged,
            skipped=done.skipped,
            movements=dict(done.movements),
            kept_mrr=done.kept_mrr,
        )
        payload = {"kind": kind, "file": source.name, "rows": checked.rows, "sha256": checked.sha256}
        payload.update({k: v for k, v in vars(result).items() if k in ("created", "updated", "skipped") and v})
        if result.movements:
            payload["movements"] = result.movements
        append_audit(session, at=u.now, actor=actor, action=AuditAction.IMPORT_COMPLETED, payload=payload)
        if done.touched:  # answers, usage and MRR are inputs of the health score: each customer once
            reason = f"import of {NOUNS[kind]} ({source.name})"
            health.health_changed_many(session, sorted(done.touched), u.now, reason, runtime.config)
    playbooks.start_pending(runtime)  # the playbooks a health threshold crossing requested, after the commit
    return result


def _valid_rows(model: type[R], kind: str, reader: Reader) -> Iterator[R]:
    """The second pass: the rows the first pass found good (a row that is not means the file changed)."""
    for number, values in reader:
        row = None if isinstance(values, RowError) else parse(kind, values)[0]
        if not isinstance(row, model):
            raise ImportRefused(kind, reader.source.name, [RowError(number, "", "file_changed")], 1)
        yield row


def _bar(rows: Iterator[R], progress: bool, total: int, what: str) -> Iterator[R]:
    with tqdm(total=total, unit=" rows", desc=what, disable=not progress, file=sys.stderr, leave=False) as bar:
        for row in rows:
            yield row
            bar.update()


def check(runtime: Runtime, kind: str, source: Source, *, progress: bool = False) -> Checked:
    """The first pass over the file: every row and column checked, all errors collected."""
    checked = Checked()
    with runtime.store.session() as session:
        known = {cid: purged is not None for cid, purged in session.execute(select(Customer.id, Customer.purged_at))}
    now = runtime.clock.now()
    seen: dict[Any, int] = {}
    keep = kind in ("customers", "mrr")
    order = {column: i for i, column in enumerate(("", *COLUMNS[kind]))}  # a row's errors in column order
    with tqdm(
        total=source.size(),
        unit="B",
        unit_scale=True,
        desc="checking",
        disable=not progress,
        file=sys.stderr,
        leave=False,
    ) as bar:
        reader = Reader(source, COLUMNS[kind], on_bytes=bar.update)
        try:
            for number, values in reader:
                checked.rows += 1
                if isinstance(values, RowError):
                    checked.add(values)
                    continue
                row, fields, problems = parse(kind, values)
                errors = [RowError(number, column, code, params) for column, code, params, _ in problems]
                errors += _cross_check(fields, number, known, seen, now, runtime.config)
                for error in sorted(errors, key=lambda e: order[e.column]):
                    checked.add(error)
                if keep and row is not None and not checked.total_errors:
                    checked.kept.append(row)
        except HeaderRefused as exc:
            for error in exc.errors:
                checked.add(error)
            return checked
        except FileRefused as exc:
            checked.add(exc.error)
            return checked
    if checked.rows == 0 and not checked.total_errors:
        checked.add(RowError(2, "", "no_rows"))
    checked.sha256 = reader.sha256
    return checked


def _cross_check(
    fields: Mapping[str, Any],
    number: int,
    known: Mapping[str, bool],
    seen: dict[Any, int],
    now: datetime,
    config: Mapping[str, Any],
) -> list[RowError]:
    """The checks that need more than one field (of those that are good): customers exist, ids and movements are
    not repeated, times are not in the future, a survey score fits its kind's scale, a renewal is not before the
    contract starts."""
    errors = []
    customer_id, at = fields.get("customer_id"), fields.get("at")
    if "id" in fields:  # a customers file
        if fields["id"] in seen:
            errors.append(RowError(number, "id", "duplicate_id", {"value": fields["id"], "row": seen[fields["id"]]}))
        else:
            seen[fields["id"]] = number
        start, renewal = fields.get("contract_start"), fields.get("renewal_date")
        if start and renewal and renewal < start:
            params = {"value": renewal.isoformat(), "start": start.isoformat()}
            errors.append(RowError(number, "renewal_date", "renewal_before_start", params))
    if customer_id is not None and customer_id not in known:
        errors.append(RowError(number, "customer_id", "unknown_customer", {"value": customer_id}))
    elif customer_id is not None and known[customer_id]:
        errors.append(RowError(number, "customer_id", "purged_customer", {"value": customer_id}))
    if at is not None and at > now:
        errors.append(RowError(number, "at", "in_future", {"value": at.isoformat()}))
    if "new_mrr" in fields and customer_id is not None and at is not None:  # an mrr file
        if (customer_id, at) in seen:
            errors.append(
                RowError(number, "at", "duplicate_movement", {"value": customer_id, "row": seen[customer_id, at]})
            )
        else:
            seen[customer_id, at] = number
    if "score" in fields and "kind" in fields:  # a surveys file
        low, high = surveys.scale(fields["kind"], config)
        if not low <= fields["score"] <= high:
            params = {"value": fields["score"], "kind": fields["kind"], "low": low, "high": high}
            errors.append(RowError(number, "score", "out_of_scale", params))
    return errors


def source_for(path: str | Path) -> Source:
    path = Path(path)
    return Source(name=path.name, path=path)
