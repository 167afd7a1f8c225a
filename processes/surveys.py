"""NPS, CSAT and CES answers: from a user task's form, a public signed link mailed to a contact, the API or an
import. Each answer keeps its scale, customer, contact and the process step that asked."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.models import Base, UTCDateTime
from processes import rollups
from processes.customers import Customer

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
