"""POST /api/v1/surveys: record an NPS, CSAT or CES answer collected elsewhere (a CRM, a chat widget). The score
is checked against its kind's scale (CES: config.toml [surveys]); the answer keeps the scale it was given on."""

from __future__ import annotations

from typing import Any, Literal

from flask import jsonify
from flask.typing import ResponseReturnValue
from pydantic import Field

from processes import surveys
from processes.customers import Contact, Customer
from web.accounts.permissions import WORK_TASKS
from web.api.base import InvalidInput, iso
from web.api.declare import MAX_INT, Body, Id, Moment, Response, Shape, When, Whole, operation, text
from web.context import me, runtime

Kind = Literal["nps", "csat", "ces"]


class SurveyRequest(Body):
    customer_id: str = text(64, required=True)
    kind: Kind
    score: Whole = Field(
        ge=-MAX_INT,
        le=MAX_INT,
        description="nps 0-10, csat 1-5, ces on the scale of config.toml [surveys] (0-5 by default)",
    )
    at: Moment | None = Field(None, description="when it was answered (default: now)")
    comment: str | None = Field(None, max_length=2000)
    contact_id: Id | None = Field(None, description="one of the customer's contacts")
    instance_id: str | None = text(36, "the process instance that asked")
    element_id: str | None = text(200, "the step of that process that asked")


FIELDS = tuple(SurveyRequest.model_fields)


class SurveyAnswer(Shape):
    id: int
    customer_id: str
    contact_id: int | None
    kind: Kind
    score: int
    scale_min: int
    scale_max: int
    at: When
    comment: str
    source: str = Field(description="form, link, api, import or demo")
    instance_id: str | None
    element_id: str | None


def shape(answer: surveys.SurveyAnswer) -> dict[str, Any]:
    return {
        "id": answer.id,
        "customer_id": answer.customer_id,
        "contact_id": answer.contact_id,
        "kind": answer.kind,
        "score": answer.score,
        "scale_min": answer.scale_min,
        "scale_max": answer.scale_max,
        "at": iso(answer.at),
        "comment": answer.comment,
        "source": answer.source,
        "instance_id": answer.instance_id,
        "element_id": answer.element_id,
    }


@operation(
    "post",
    "/surveys",
    summary="Record an NPS, CSAT or CES answer",
    roles=WORK_TASKS,
    body=SurveyRequest,
    ok=Response(201, SurveyAnswer, "Stored with its scale"),
)
def record_survey(body: SurveyRequest) -> ResponseReturnValue:
    customer_id, contact_id = body.customer_id, body.contact_id
    rt = runtime()
    with rt.unit() as u:
        customer = u.session.get(Customer, customer_id)
        if customer is None:
            raise InvalidInput({"customer_id": f"customer {customer_id!r} does not exist"})
        if contact_id is not None:
            contact = u.session.get(Contact, contact_id)
            if contact is None or contact.customer_id != customer.id:
                raise InvalidInput({"contact_id": f"is not a contact of customer {customer.id}"})
        try:
            answer = surveys.record_answer(
                u.session,
                rt.config,
                customer=customer,
                kind=body.kind,
                score=body.score,
                at=body.at or u.now,
                source="api",
                comment=body.comment or "",
                contact_id=contact_id,
                instance_id=body.instance_id,
                element_id=body.element_id,
            )
        except surveys.SurveyError as exc:
            field, _, message = str(exc).partition(": ")
            raise InvalidInput({field if field in FIELDS else "score": message or str(exc)}) from None
        surveys.answered(u.session, rt.config, answer, u.now, actor=me().username)
        result = shape(answer)
    return jsonify(result), 201
