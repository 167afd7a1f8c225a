"""The audit trail screen (auditors, admins; read only): filter the hash-chained trail, page through it, see each
change's before and after side by side, export exactly the filtered rows as CSV (itself an audited act), and the
chain's verify status on top.

The status costs O(page), not O(trail): the chain is verified from the mark in ``audit_checkpoint`` (where the last
load left it) to the head, the mark then moves on, and each row shown is checked against its own hashes. The whole
chain, and the trail against its signed checkpoints, is verified by ``jornada audit verify``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import Blueprint, Response, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from engine import (
    AuditAction,
    AuditFilters,
    AuditVerification,
    advance_audit_mark,
    audit_csv_lines,
    audit_row_problem,
    count_audit_events,
    distinct_audit_values,
    last_audit_seq,
    matching_audit_events,
    stream_audit_events,
    verified_audit_mark,
    verify_audit,
)
from engine.models import AuditEvent
from web.accounts.permissions import AUDIT, READ_INSTANCES, requires
from web.context import audited_unit, me, read_session, record, runtime
from web.paging import page_count
from web.params import MAX_PAGE, int_param

bp = Blueprint("audit", __name__)

PAGE_SIZE = 50
TEXT_FIELDS = ("actor", "action", "process", "instance", "customer", "q")


# -- the filter form -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Query:
    """The filter form as read from the query string: the engine's filters, the order, and errors by field."""

    filters: AuditFilters
    newest_first: bool
    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)

    def described(self) -> dict[str, str]:
        """The filters actually set, for the export's audit event."""
        return {k: v for k, v in self.values.items() if v and k != "order"}


def day_field(values: dict[str, str], name: str, label: str, errors: dict[str, str]) -> date | None:
    """The date (YYYY-MM-DD) in ``values[name]``, None when blank; a bad one goes into ``errors`` naming ``label``."""
    text = values[name]
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors[name] = _("%(field)s: “%(value)s” is not a date (YYYY-MM-DD).", field=label, value=text)
        return None


def parse(args: Mapping[str, str]) -> Query:
    values = {name: args.get(name, "").strip() for name in (*TEXT_FIELDS, "from", "to")}
    values["order"] = "oldest" if args.get("order") == "oldest" else "newest"
    errors: dict[str, str] = {}
    first = day_field(values, "from", _("From"), errors)
    last = day_field(values, "to", _("To"), errors)
    if first and last and last < first:
        errors["to"] = _("To: %(to)s is before From (%(from_)s).", to=last.isoformat(), from_=first.isoformat())
    filters = AuditFilters(
        actor=values["actor"] or None,
        action=values["action"] or None,
        process_id=values["process"] or None,
        instance_id=values["instance"] or None,
        customer_id=values["customer"] or None,
        since=datetime.combine(first, time(), UTC) if first else None,
        until=datetime.combine(last + timedelta(days=1), time(), UTC) if last else None,
        text=values["q"] or None,
    )
    return Query(filters, values["order"] == "newest", values, errors)


# -- how an event reads ----------------------------------------------------------------------------------------
MISSING = object()  # a key the payload does not hold


def shown(value: Any) -> str | None:
    """A payload value as a person reads it: text as is, anything else as compact JSON; None when absent."""
    if value is MISSING or value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


@dataclass(frozen=True)
class Change:
    """An event's payload laid out for the table: before/after side by side, then the other keys."""

    redacted: bool = False
    reason: str = ""
    rows: list[tuple[str, str | None, str | None, bool]] = field(default_factory=list)  # key, before, after, changed
    other: list[tuple[str, str | None]] = field(default_factory=list)


def change_of(event: AuditEvent) -> Change:
    payload = json.loads(event.payload)
    if event.redacted:
        return Change(redacted=True, reason=str(payload.get("reason", "")))
    before, after = payload.pop("before", MISSING), payload.pop("after", MISSING)
    pairs: list[tuple[str, Any, Any]] = []
    if isinstance(before, dict) or isinstance(after, dict):
        old = before if isinstance(before, dict) else {}
        new = after if isinstance(after, dict) else {}
        pairs = [(key, old.get(key, MISSING), new.get(key, MISSING)) for key in sorted(old.keys() | new.keys())]
    elif before is not MISSING or after is not MISSING:
        pairs = [("", before, after)]
    return Change(
        rows=[(key, shown(a), shown(b), a != b) for key, a, b in pairs],
        other=[(key, shown(value)) for key, value in sorted(payload.items())],
    )


# -- the chain's status ------------------------------------------------------------------------------------------
def with_shown_rows(verification: AuditVerification, events: list[AuditEvent]) -> AuditVerification:
    """The incremental verification (the rows after the verified mark), failed also by the first row on the page
    that does not match its own hashes: every row a reader sees is checked, whatever its age."""
    if not verification.ok:
        return verification
    for seq, problem in sorted((e.seq, audit_row_problem(e)) for e in events):
        if problem is not None:
            return replace(verification, ok=False, broken_seq=seq, reason=problem)
    return verification


# -- views -------------------------------------------------------------------------------------------------------
def _choices(session: Session) -> dict[str, list[str]]:
    """The values the filter form offers."""
    return {
        "actions": distinct_audit_values(session, AuditEvent.action),
        "actors": distinct_audit_values(session, AuditEvent.actor),
        "processes": distinct_audit_values(session, AuditEvent.process_id),
    }


@bp.get("/")
@requires(*AUDIT)
def index() -> ResponseReturnValue:
    query = parse(request.args)
    page = int_param(request.args, "page", default=1, high=MAX_PAGE)
    events: list[AuditEvent] = []
    total = 0
    with read_session() as session:
        mark = verified_audit_mark(session)
        verification = verify_audit(session, since=mark)
        choices = _choices(session)
        if not query.errors:
            total = count_audit_events(session, query.filters)
            select = matching_audit_events(query.filters, newest_first=query.newest_first)
            events = list(session.execute(select.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).scalars())
    verification = with_shown_rows(verification, events)
    if verification.ok and (verification.last_seq, verification.last_hash) != mark:
        rt = runtime()
        with rt.store.unit() as unit:  # a cache of verification work: not an audited change
            session = unit.session
            advance_audit_mark(session, mark, (verification.last_seq, verification.last_hash), at=rt.clock.now())
    args = {k: v for k, v in query.values.items() if v and not (k == "order" and v == "newest")}
    return render_template(
        "audit/index.html",
        query=query,
        args=args,
        events=[(e, change_of(e)) for e in events],
        total=total,
        page=page,
        pages=page_count(total, PAGE_SIZE),
        verification=verification,
        links_instances=me().has(*READ_INSTANCES),
        **choices,
    ), (422 if query.errors else 200)


@bp.get("/export.csv")
@requires(*AUDIT)
def export() -> ResponseReturnValue:
    query = parse(request.args)
    if query.errors:
        return render_template("errors/error.html", code=422, message=" ".join(query.errors.values())), 422
    rt = runtime()
    with read_session() as session:
        snapshot = replace(query.filters, up_to_seq=last_audit_seq(session))
        rows = count_audit_events(session, snapshot)
    with audited_unit() as unit:
        record(
            unit,
            AuditAction.AUDIT_EXPORTED,
            {
                "filters": query.described(),
                "order": query.values["order"],
                "rows": rows,
                "up_to_seq": snapshot.up_to_seq,
            },
        )
        moment = unit.now
    events = stream_audit_events(rt.store.session, snapshot, newest_first=query.newest_first)
    name = f"jornada-audit-{moment:%Y%m%d-%H%M%S}.csv"
    return Response(
        audit_csv_lines(events),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
