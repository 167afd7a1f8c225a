"""The audit trail for auditors and admins: filtered, in sequence order, paged by ``after_seq``."""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue
from pydantic import Field

from engine import AuditFilters, matching_audit_events
from engine.models import AuditEvent
from web.accounts.permissions import AUDIT
from web.api import shapes
from web.api.declare import MAX_ID, EndMoment, Moment, Query, Response, Shape, operation, text
from web.context import read_session


class AuditQuery(Query):
    actor: str | None = text(100, "who acted")
    action: str | None = text(100, "e.g. task_completed")
    customer: str | None = text(64, "customer id")
    process: str | None = text(200, "process id")
    instance: str | None = text(36, "instance id")
    since: Moment | None = Field(None, alias="from", description="ISO date or date-time, inclusive")
    until: EndMoment | None = Field(None, alias="to", description="ISO date-time, exclusive; a bare date includes it")
    after_seq: int = Field(0, ge=0, le=MAX_ID, description="only events after this seq (paging)")
    limit: int = Field(100, ge=1, le=1000, description="at most this many")


class AuditPage(Shape):
    events: list[shapes.AuditEvent]
    next_after_seq: int | None = Field(description="pass as after_seq for the next page; null on the last page")


@operation(
    "get",
    "/audit",
    summary="Audit events in sequence order",
    roles=AUDIT,
    query=AuditQuery,
    ok=Response(200, AuditPage, "A page of events"),
)
def list_events(query: AuditQuery) -> ResponseReturnValue:
    filters = AuditFilters(
        actor=query.actor,
        action=query.action,
        customer_id=query.customer,
        process_id=query.process,
        instance_id=query.instance,
        since=query.since,
        until=query.until,
    )
    found = (
        matching_audit_events(filters, newest_first=False)
        .where(AuditEvent.seq > query.after_seq)
        .limit(query.limit + 1)
    )
    with read_session() as session:
        rows = session.execute(found).scalars().all()
    events = [shapes.event(row) for row in rows[: query.limit]]
    return jsonify({"events": events, "next_after_seq": events[-1]["seq"] if len(rows) > query.limit else None})
