"""Surveys in the processes: the ``survey.send`` service task that mails signed links, the listeners that store
answers given in a user task's form or carried by a ``<kind>_response`` message, and the start guard that keeps
referrals for promoters."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from engine import AuditAction, HandlerContext, HandlerError, HandlerRegistry, Happened, StartRefused, StartRequest
from processes import mail, surveys
from processes.customers import Contact, Customer, get_customer

FORM_FIELD = re.compile(r"^(nps|csat|ces)_score$")
RESPONSE_MESSAGE = re.compile(r"^(nps|csat|ces)_response$")
PROMOTER = (9, 10)


def register(registry: HandlerRegistry) -> None:
    registry.register("survey.send", send_survey)
    registry.listen(AuditAction.TASK_COMPLETED, store_form_answers)
    registry.listen(AuditAction.MESSAGE_RECEIVED, store_message_answer)
    registry.guard_start(referrals_need_a_promoter)


# -- survey.send ---------------------------------------------------------------------------------------------
def _recipient(ctx: HandlerContext, customer: Customer) -> tuple[str, Contact | None]:
    """The property ``recipient`` (a contact's e-mail, or any address), else the customer's first contact, else
    the customer's own e-mail address."""
    contacts = list(
        ctx.session.execute(select(Contact).where(Contact.customer_id == customer.id).order_by(Contact.id)).scalars()
    )
    wanted = ctx.prop("recipient")
    if wanted:
        return wanted, next((c for c in contacts if c.email.lower() == wanted.lower()), None)
    if contacts:
        return contacts[0].email, contacts[0]
    if customer.email:
        return customer.email, None
    raise HandlerError(f"customer {customer.id} has no contact or e-mail address and the task names no recipient")


def send_survey(ctx: HandlerContext) -> dict[str, Any]:
    """Properties: ``kind`` (nps, csat or ces; several comma-separated mail one link per kind in one mail) and
    ``template`` (default ``survey_<first kind>``), ``recipient`` optional. Mails the link(s) in the contact's
    language; returns ``survey_link_id`` (the first kind's) and ``survey_<kind>_link_id`` for each kind."""
    kinds = [k.strip() for k in (ctx.prop("kind") or "").split(",") if k.strip()]
    if not kinds:
        raise HandlerError(f"{ctx.element_id}: survey.send needs a 'kind' property (nps, csat or ces)")
    unknown = [k for k in kinds if k not in surveys.KINDS]
    if unknown:
        raise HandlerError(f"{ctx.element_id}: kind {unknown[0]!r} is not one of {', '.join(surveys.KINDS)}")
    customer = get_customer(ctx.session, ctx.customer_id)
    recipient, contact = _recipient(ctx, customer)
    language = contact.language if contact is not None else "en"
    links: dict[str, surveys.SurveyLink] = {}
    urls: dict[str, str] = {}
    for kind in kinds:
        link, token = surveys.create_link(
            ctx.session,
            ctx.config,
            customer_id=customer.id,
            kind=kind,
            now=ctx.now,
            contact_id=contact.id if contact is not None else None,
            instance_id=ctx.instance_id,
            element_id=ctx.element_id,
            language=language,
        )
        links[kind], urls[kind] = link, surveys.link_url(ctx.config, token)
    first = links[kinds[0]]
    variables = {
        "customer": customer,
        "contact": contact,
        "data": ctx.data,
        "kind": kinds[0],
        "url": urls[kinds[0]],
        "urls": urls,
        "expires_at": first.expires_at,
    }
    template = ctx.prop("template") or f"survey_{kinds[0]}"
    subject, body = mail.render(template, variables, language=language)
    ctx.mailer.queue_mail(recipient, subject, body)
    return {"survey_link_id": first.id, **{f"survey_{kind}_link_id": link.id for kind, link in links.items()}}


# -- answers from forms and messages ----------------------------------------------------------------------------
def _customer(happened: Happened) -> Customer | None:
    return happened.session.get(Customer, happened.customer_id) if happened.customer_id else None


def _as_score(value: Any) -> int | None:
    """A submitted score as a whole number; None when the field was left empty."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise HandlerError(f"survey score {value!r} is not a whole number")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise HandlerError(f"survey score {value!r} is not a whole number")


def _store(happened: Happened, customer: Customer, kind: str, score: int, comment: Any, **where: Any) -> None:
    try:
        answer = surveys.record_answer(
            happened.session,
            happened.config,
            customer=customer,
            kind=kind,
            score=score,
            at=happened.now,
            comment=str(comment or ""),
            instance_id=happened.instance_id,
            **where,
        )
    except surveys.SurveyError as exc:
        raise HandlerError(str(exc)) from None
    surveys.answered(happened.session, happened.config, answer, happened.now)


def store_form_answers(happened: Happened) -> None:
    """A completed user task whose form has ``nps_score``, ``csat_score`` or ``ces_score``: one answer per field
    filled in, with its ``<kind>_comment`` when the form has one, asked by that step."""
    submitted = happened.payload.get("after") or {}
    found = [(m.group(1), value) for key, value in submitted.items() if (m := FORM_FIELD.match(key))]
    customer = _customer(happened) if found else None
    if customer is None:
        return
    for kind, value in found:
        score = _as_score(value)
        if score is not None:
            comment = submitted.get(f"{kind}_comment")
            _store(happened, customer, kind, score, comment, source="form", element_id=happened.payload.get("element"))


def store_message_answer(happened: Happened) -> None:
    """A ``<kind>_response`` message with ``<kind>_score`` caught by an instance (e.g. a CSAT answer posted to
    /api/v1/messages) is an answer too, unless it came from a survey link, which stored it already."""
    found = RESPONSE_MESSAGE.match(str(happened.payload.get("message", "")))
    payload = happened.payload.get("payload")
    if not found or not isinstance(payload, dict) or "survey_link_id" in payload:
        return
    kind = found.group(1)
    score = _as_score(payload.get(f"{kind}_score"))
    customer = _customer(happened)
    if score is None or customer is None:
        return
    comment = payload.get(f"{kind}_comment")
    _store(happened, customer, kind, score, comment, source="api", element_id=happened.payload.get("element"))


# -- referrals start from promoters -----------------------------------------------------------------------------
def referrals_need_a_promoter(request: StartRequest) -> None:
    """The referrals process asks promoters: an ``nps`` given at its start must be 9 or 10."""
    if request.process_id != "referrals" or request.data.get("nps") in (None, ""):
        return
    nps = request.data["nps"]
    try:
        score = _as_score(nps)
    except HandlerError:
        score = None
    if score not in PROMOTER:
        raise StartRefused(f"referrals start from promoters: nps {nps} is not 9-10")
