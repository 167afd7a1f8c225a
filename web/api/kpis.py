"""GET /api/v1/kpis/cs: the CS KPIs of a period (and a segment or CSM owner), with the formula of each."""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from processes.customers import SEGMENTS
from processes.kpis import FORMULAS, cs_kpis
from web.api.base import InvalidInput, Reader, bp
from web.context import read_session, runtime
from web.permissions import KPIS, requires

PARAMETERS = ("from", "to", "segment", "owner")


@bp.get("/kpis/cs")
@requires(*KPIS)
def cs_kpis_report() -> ResponseReturnValue:
    args = Reader(request.args, PARAMETERS)
    first, last = args.day("from", required=True), args.day("to", required=True)
    segment = args.text("segment", max_length=30)
    if segment is not None and segment not in SEGMENTS:
        args.errors["segment"] = f"must be one of {', '.join(SEGMENTS)}"
    owner = args.text("owner", max_length=100)
    args.done()
    assert first is not None and last is not None
    if last < first:
        raise InvalidInput({"to": "must not be before from"})
    with read_session() as session:
        figures = cs_kpis(session, first=first, last=last, segment=segment, owner=owner, config=runtime().config)
    return jsonify({**figures.as_json(), "formulas": FORMULAS})
