"""NPS, CSAT and CES answers: from a user task's form, a public signed link mailed to a contact, the API or an
import. Each answer keeps its scale, customer, contact and the process step that asked."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import ForeignKey, Index, Integer, String, Text, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine import AuditAction, append_audit, secret_key
from engine.models import Base, UTCDateTime
from processes import rollups
from processes.customers import LANGUAGES, Contact, Customer

if TYPE_CHECKING:
    from engine import Runtime, Unit

KINDS = ("nps", "csat", "ces")


class SurveyAnswer(Base):
    __tablename__ = "survey_answer"
    __table_args__ = (Index("ix_survey_answer_customer_at", "customer_id", "at"), Index("ix_survey_answer_at", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.id"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("customer_contact.id"))
    kind: Mapped[str] = mapped_column(String(10))  # KINDS
    score: Mapped[int] = mapped_column(Integer)
    scale_min: Mapped[int] = mapped_column(Integer)
    scale_max: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    comment: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(20))  # form | link | api | import | demo
    instance_id: Mapped[str | None] = mapped_column(String(36), index=True)  # the process that asked
    element_id: Mapped[str | None] = mapped_column(String(200))  # its step
    link_id: Mapped[int | None] = mapped_column(Integer)


class SurveyLink(Base):
    """A mailed survey link: signed, expires, answered once."""

    __tablename__ = "survey_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("customer_contact.id"))
    kind: Mapped[str] = mapped_column(String(10))
    language: Mapped[str] = mapped_column(String(10), default="en")
    instance_id: Mapped[str | None] = mapped_column(String(36))
    element_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SurveyError(ValueError):
    """A survey answer that cannot be stored; the message names the field."""


class LinkForged(SurveyError):
    """The link's token does not carry this installation's signature (typed wrong, cut short or made up)."""


class LinkUnknown(SurveyError):
    """The signature is good but the link no longer exists (e.g. the customer's data was deleted)."""


class LinkExpired(SurveyError):
    """The link's time to answer is over."""


class LinkAnswered(SurveyError):
    """The link was answered already: one answer per link."""


def scale(kind: str, config: Mapping[str, Any]) -> tuple[int, int]:
    """The (lowest, highest) score of a survey kind: NPS 0-10, CSAT 1-5, CES as config.toml [surveys] sets it."""
    if kind == "nps":
        return 0, 10
    if kind == "csat":
        return 1, 5
    if kind == "ces":
        return int(config["surveys"]["ces_min"]), int(config["surveys"]["ces_max"])
    raise SurveyError(f"kind: {kind!r} is not one of {', '.join(KINDS)}")


def record_answer(
    session: Session,
    config: Mapping[str, Any],
    *,
    customer: Customer,
    kind: str,
    score: int,
    at: datetime,
    source: str,
    comment: str = "",
    contact_id: int | None = None,
    instance_id: str | None = None,
    element_id: str | None = None,
    link_id: int | None = None,
) -> SurveyAnswer:
    """Store one answer (checked against its scale) and count it in the day's rollup."""
    low, high = scale(kind, config)
    if isinstance(score, bool) or not isinstance(score, int) or not low <= score <= high:
        raise SurveyError(f"score: {score!r} is not a whole number from {low} to {high} ({kind})")
    answer = SurveyAnswer(
        customer_id=customer.id,
        contact_id=contact_id,
        kind=kind,
        score=score,
        scale_min=low,
        scale_max=high,
        at=at,
        comment=comment,
        source=source,
        instance_id=instance_id,
        element_id=element_id,
        link_id=link_id,
    )
    session.add(answer)
    session.flush()
    rollups.count_answer(session, customer, kind, score, at)
    return answer


# -- signed links ----------------------------------------------------------------------------------------------
LINK_SALT = "jornada.survey-link"  # a token for a survey link is no good as any other signed value, and vice versa

# Called inside the answering transaction when a link's process asked: (link, message name, payload).
Deliver = Callable[["SurveyLink", str, dict[str, Any]], object]


def delivering(runtime: Runtime, u: Unit) -> Deliver:
    """The ``deliver`` of ``answer_link`` inside unit ``u``: the answer goes, as a message, to the instance that
    asked through that link, and to no other instance of the customer."""

    def deliver(link: SurveyLink, name: str, payload: dict[str, Any]) -> object:
        return runtime.deliver(
            u, name, payload, actor=f"survey-link:{link.id}", customer_id=link.customer_id, instance_id=link.instance_id
        )

    return deliver


def _signer(config: Mapping[str, Any]) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key(config), salt=LINK_SALT)


def link_token(config: Mapping[str, Any], link_id: int) -> str:
    """The signed token of a link: its id under an HMAC of the installation's secret key."""
    return str(_signer(config).dumps(link_id))


def link_url(config: Mapping[str, Any], token: str) -> str:
    return f"{str(config['surveys']['public_url']).rstrip('/')}/survey/{token}"


def create_link(
    session: Session,
    config: Mapping[str, Any],
    *,
    customer_id: str,
    kind: str,
    now: datetime,
    contact_id: int | None = None,
    instance_id: str | None = None,
    element_id: str | None = None,
    language: str | None = None,
) -> tuple[SurveyLink, str]:
    """A new link asking ``kind`` of the customer's contact, valid for [surveys] link_days; returns it and its token.
    Its page speaks ``language``, else the contact's, else English."""
    scale(kind, config)  # refuses an unknown kind
    if language is None and contact_id is not None:
        contact = session.get(Contact, contact_id)
        language = contact.language if contact is not None else None
    link = SurveyLink(
        customer_id=customer_id,
        contact_id=contact_id,
        kind=kind,
        language=language if language in LANGUAGES else "en",
        instance_id=instance_id,
        element_id=element_id,
        created_at=now,
        expires_at=now + timedelta(days=int(config["surveys"]["link_days"])),
    )
    session.add(link)
    session.flush()
    return link, link_token(config, link.id)


def read_link(session: Session, config: Mapping[str, Any], token: str) -> SurveyLink:
    """The link a token names; LinkForged for a bad signature, LinkUnknown for a good one naming no link."""
    try:
        link_id = _signer(config).loads(token)
    except BadSignature:
        raise LinkForged("this survey link is not valid: check that it was copied whole from the e-mail") from None
    link = session.get(SurveyLink, link_id) if isinstance(link_id, int) else None
    if link is None:
        raise LinkUnknown("this survey link does not exist any more")
    return link


def check_open(link: SurveyLink, now: datetime) -> None:
    """LinkAnswered or LinkExpired when the link takes no answer at ``now``."""
    if link.answered_at is not None:
        raise LinkAnswered(f"this survey was already answered on {link.answered_at:%Y-%m-%d}; thank you")
    if now > link.expires_at:
        raise LinkExpired(f"this survey link expired on {link.expires_at:%Y-%m-%d}")


def next_link(session: Session, config: Mapping[str, Any], link_id: int, now: datetime) -> str | None:
    """The token of another open link mailed with this one (same process step), e.g. a ticket's CES after its
    CSAT, so the thank-you page can ask it at once; None when there is none."""
    link = session.get(SurveyLink, link_id)
    if link is None or link.instance_id is None:
        return None
    query = select(SurveyLink.id).where(
        SurveyLink.instance_id == link.instance_id,
        SurveyLink.element_id == link.element_id,
        SurveyLink.id != link.id,
        SurveyLink.answered_at.is_(None),
        SurveyLink.expires_at >= now,
    )
    found = session.execute(query.order_by(SurveyLink.id).limit(1)).scalar()
    return link_token(config, found) if found is not None else None


def answer_link(
    session: Session,
    config: Mapping[str, Any],
    token: str,
    score: int,
    comment: str,
    now: datetime,
    *,
    deliver: Deliver | None = None,
) -> SurveyAnswer:
    """Store the answer to a signed link, once. Call it inside the unit that commits it: the link is marked
    answered by a conditional UPDATE (of two concurrent answers one wins, the other gets LinkAnswered), and when a
    process asked, ``deliver`` gets message ``<kind>_response`` with ``<kind>_score``/``<kind>_comment`` for it."""
    link = read_link(session, config, token)
    check_open(link, now)
    low, high = scale(link.kind, config)
    if isinstance(score, bool) or not isinstance(score, int) or not low <= score <= high:
        raise SurveyError(f"score: {score!r} is not a whole number from {low} to {high} ({link.kind})")
    won = session.execute(
        update(SurveyLink)
        .where(SurveyLink.id == link.id, SurveyLink.answered_at.is_(None))
        .values(answered_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(won, "rowcount", 0) != 1:
        raise LinkAnswered("this survey was already answered; thank you")
    link.answered_at = now
    customer = session.get(Customer, link.customer_id)
    if customer is None:
        raise LinkUnknown("this survey link does not exist any more")
    answer = record_answer(
        session,
        config,
        customer=customer,
        kind=link.kind,
        score=score,
        at=now,
        source="link",
        comment=comment,
        contact_id=link.contact_id,
        instance_id=link.instance_id,
        element_id=link.element_id,
        link_id=link.id,
    )
    answered(session, config, answer, now, actor=f"survey-link:{link.id}")
    if link.instance_id and deliver is not None:
        payload = {f"{link.kind}_score": score, f"{link.kind}_comment": comment, "survey_link_id": link.id}
        deliver(link, f"{link.kind}_response", payload)
    return answer


# -- after an answer ---------------------------------------------------------------------------------------------
def answered(
    session: Session, config: Mapping[str, Any], answer: SurveyAnswer, now: datetime, *, actor: str | None = None
) -> None:
    """What follows a stored answer (form, link or API): the audit entry (``actor`` given), the playbook rules on
    detractors and promoters, and the customer's health score."""
    if actor is not None:
        payload = {
            "answer": answer.id,
            "kind": answer.kind,
            "score": answer.score,
            "scale": [answer.scale_min, answer.scale_max],
            "source": answer.source,
            "contact": answer.contact_id,
            "element": answer.element_id,
            "link": answer.link_id,
        }
        append_audit(
            session,
            at=now,
            actor=actor,
            action=AuditAction.SURVEY_ANSWERED,
            payload=payload,
            instance_id=answer.instance_id,
            customer_id=answer.customer_id,
        )
    from processes import health, playbooks  # they read survey answers themselves

    playbooks.on_survey_answer(
        session, customer_id=answer.customer_id, kind=answer.kind, score=answer.score, now=now, config=config
    )
    health.health_changed(session, answer.customer_id, now, f"survey {answer.kind}", config)
