"""The audit trail for auditors and admins: filtered, in sequence order, paged by ``after_seq``."""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from engine import audit
from engine.models import AuditEvent
from web.api import shapes
from web.api.base import Reader, bp
from web.context import read_session
from web.permissions import AUDIT, requires

PARAMETERS = ("actor", "action", "customer", "process", "instance", "from", "to", "after_seq", "limit")


@bp.get("/audit")
@requires(*AUDIT)
def list_events() -> ResponseReturnValue:
    args = Reader(request.args, PARAMETERS)
    filters = audit.Filters(
        actor=args.text("actor"),
        action=args.text("action"),
        customer_id=args.text("customer"),
        process_id=args.text("process"),
        instance_id=args.text("instance", max_length=36),
        since=args.moment("from"),
        until=args.moment("to", end_of_day=True),
    )
    after_seq = args.integer("after_seq", default=0, low=0, high=2**62)
    limit = args.integer("limit", default=100, low=1, high=1000)
    args.done()
    query = audit.matching(filters, newest_first=False).where(AuditEvent.seq > after_seq).limit(limit + 1)
    with read_session() as session:
        rows = session.execute(query).scalars().all()
    events = [shapes.event(row) for row in rows[:limit]]
    return jsonify({"events": events, "next_after_seq": events[-1]["seq"] if len(rows) > limit else None})
