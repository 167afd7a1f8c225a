"""POST /api/v1/surveys: record an NPS, CSAT or CES answer collected elsewhere (a CRM, a chat widget). The score
is checked against its kind's scale (CES: config.toml [surveys]); the answer keeps the scale it was given on."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue

from processes import surveys
from processes.customers import Contact, Customer
from web.api.base import InvalidInput, Reader, bp, iso, json_body
from web.context import me, runtime
from web.permissions import WORK_TASKS, requires

FIELDS = ("customer_id", "kind", "score", "at", "comment", "contact_id", "instance_id", "element_id")


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


@bp.post("/surveys")
@requires(*WORK_TASKS)
def record_survey() -> ResponseReturnValue:
    body = Reader(json_body(), FIELDS)
    customer_id = body.text("customer_id", required=True, max_length=64)
    kind = body.text("kind", required=True, max_length=10)
    if kind is not None and kind not in surveys.KINDS:
        body.errors["kind"] = f"must be one of {', '.join(surveys.KINDS)}"
    score = body.whole("score", required=True)
    at = body.moment("at")
    comment = body.text("comment", max_length=2000) or ""
    contact_id = body.whole("contact_id")
    instance_id = body.text("instance_id", max_length=36)
    element_id = body.text("element_id", max_length=200)
    body.done()
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
                kind=str(kind),
                score=int(score or 0),
                at=at or u.now,
                source="api",
                comment=comment,
                contact_id=contact_id,
                instance_id=instance_id,
                element_id=element_id,
            )
        except surveys.SurveyError as exc:
            field, _, message = str(exc).partition(": ")
            raise InvalidInput({field if field in FIELDS else "score": message or str(exc)}) from None
        surveys.answered(u.session, rt.config, answer, u.now, actor=me().username)
        result = shape(answer)
    return jsonify(result), 201
