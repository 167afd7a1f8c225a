"""GET /api/v1/kpis/cs: the CS KPIs of a period (and a segment or CSM owner), with the formula of each."""

from __future__ import annotations

from typing import Literal

from flask import jsonify
from flask.typing import ResponseReturnValue
from pydantic import ConfigDict, Field, create_model

from processes.kpis import FORMULAS, CsKpis, cs_kpis
from web.accounts.permissions import KPIS
from web.api.base import InvalidInput
from web.api.declare import Day, Query, Response, Shape, operation, text
from web.context import read_session, runtime


class KpiQuery(Query):
    first: Day = Field(alias="from", description="first day of the period (YYYY-MM-DD, UTC)")
    last: Day = Field(alias="to", description="last day of the period, inclusive")
    segment: Literal["smb", "mid_market", "enterprise"] | None = Field(None, description="only this segment")
    owner: str | None = text(100, "only customers of this CSM owner")


# every figure of processes.kpis.CsKpis as it serializes (int, float or null), and the formulas
CsKpisShape = create_model(  # type: ignore[call-overload]
    "CsKpis",
    __base__=Shape,
    __doc__="Rates are fractions 0-1, NPS is -100..100, null where undefined (nothing to divide by).",
    **{name: (annotation, ...) for name, annotation in CsKpis.__annotations__.items()},
    formulas=(dict[str, str], Field(description="figure -> its formula")),
)
CsKpisShape.model_config = ConfigDict(extra="forbid")


@operation(
    "get",
    "/kpis/cs",
    summary="The CS KPIs of a period (NPS, CSAT, CES, churn, retention, GRR, NRR, MRR, ARPA, LTV, FRT, FCR...)",
    roles=KPIS,
    query=KpiQuery,
    ok=Response(200, CsKpisShape, "The figures and the formula of each"),
)
def cs_kpis_report(query: KpiQuery) -> ResponseReturnValue:
    if query.last < query.first:
        raise InvalidInput({"to": "must not be before from"})
    with read_session() as session:
        figures = cs_kpis(
            session,
            first=query.first,
            last=query.last,
            segment=query.segment,
            owner=query.owner,
            config=runtime().config,
        )
    return jsonify({**figures.as_json(), "formulas": FORMULAS})
