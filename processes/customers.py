"""The customer record and the few tables the lifecycle handlers keep beside it."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Index, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.handlers import HandlerError
from engine.models import Base, UTCDateTime

STAGES = ("prospect", "onboarding", "active", "offboarding", "churned")
SEGMENTS = ("smb", "mid_market", "enterprise")
EDITABLE = {"stage": str, "plan": str, "mrr": float, "csm_owner": str}
# How an MRR movement is classified from the value before it: new (0 -> >0 for the first time), expansion,
# contraction, churn (-> 0), reactivation (0 -> >0 after a churn), flat (same value).
MOVEMENT_KINDS = ("new", "expansion", "contraction", "churn", "reactivation", "flat")


class Customer(Base):
    __tablename__ = "customer"
    __table_args__ = (Index("ix_customer_owner", "csm_owner"), Index("ix_customer_segment", "segment"))

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(200))
    segment: Mapped[str] = mapped_column(String(30), default="smb")
    plan: Mapped[str] = mapped_column(String(50), default="standard")
    mrr: Mapped[float] = mapped_column(Float, default=0.0)  # the latest movement's new_mrr
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    csm_owner: Mapped[str | None] = mapped_column(String(100))
    contract_start: Mapped[date | None] = mapped_column(Date)
    renewal_date: Mapped[date | None] = mapped_column(Date, index=True)
    stage: Mapped[str] = mapped_column(String(20), default="prospect")
    external_id: Mapped[str | None] = mapped_column(String(100), index=True)  # the CRM's id
    # the health score as last computed (processes/health.py), kept here so the customers list sorts by it
    health_score: Mapped[float | None] = mapped_column(Float)
    health_band: Mapped[str | None] = mapped_column(String(20))  # healthy | watch | at_risk
    health_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Contact(Base):
    """A person at the customer: who surveys are mailed to, in their language."""

    __tablename__ = "customer_contact"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(100), default="")
    language: Mapped[str] = mapped_column(String(10), default="en")  # en | pt_BR
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MrrMovement(Base):
    __tablename__ = "mrr_movement"
    __table_args__ = (Index("ix_mrr_movement_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(20))  # MOVEMENT_KINDS
    old_mrr: Mapped[float] = mapped_column(Float)
    new_mrr: Mapped[float] = mapped_column(Float)


class Invoice(Base):
    __tablename__ = "invoice"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.id"), index=True)
    amount: Mapped[float] = mapped_column(Float)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AccessGrant(Base):
    """An access the customer holds (SSO, API keys, admin accounts, integrations) until revoked."""

    __tablename__ = "access_grant"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.id"), index=True)
    item: Mapped[str] = mapped_column(String(50))
    detail: Mapped[str] = mapped_column(Text, default="")
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(100))


def get_customer(session: Session, customer_id: str | None) -> Customer:
    if not customer_id:
        raise HandlerError("the instance has no customer_id")
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise HandlerError(f"customer {customer_id!r} does not exist")
    return customer


def create_customer(
    session: Session,
    customer_id: str,
    name: str,
    *,
    now: datetime,
    email: str | None = None,
    segment: str = "smb",
    plan: str = "standard",
    mrr: float = 0.0,
    currency: str = "USD",
    csm_owner: str | None = None,
    contract_start: date | None = None,
    renewal_date: date | None = None,
    stage: str = "prospect",
    external_id: str | None = None,
    accesses: tuple[str, ...] = ("sso", "api_keys", "admin_accounts", "integrations"),
) -> Customer:
    """A new customer row (no audit: the caller audits). A non-zero ``mrr`` is its first movement, at
    ``contract_start`` (or now)."""
    customer = Customer(
        id=customer_id,
        name=name,
        email=email,
        segment=segment,
        plan=plan,
        mrr=0.0,
        currency=currency,
        csm_owner=csm_owner,
        contract_start=contract_start,
        renewal_date=renewal_date,
        stage=stage,
        external_id=external_id,
        created_at=now,
    )
    session.add(customer)
    session.flush()
    for item in accesses:
        session.add(AccessGrant(customer_id=customer_id, item=item, detail=f"{item} of {name}"))
    if mrr:
        at = datetime.combine(contract_start, datetime.min.time(), tzinfo=now.tzinfo) if contract_start else now
        record_mrr(session, customer, at, mrr)
    return customer


def classify_movement(old: float, new: float, *, churned_before: bool) -> str:
    """The kind of an MRR movement from the value before it (see MOVEMENT_KINDS)."""
    if new == old:
        return "flat"
    if new == 0:
        return "churn"
    if old == 0:
        return "reactivation" if churned_before else "new"
    return "expansion" if new > old else "contraction"


def record_mrr(session: Session, customer: Customer, at: datetime, new_mrr: float) -> MrrMovement:
    """Record the customer's MRR from ``at`` on: the movement is classified from the value in force just before
    ``at`` (movements may arrive out of order, e.g. from an import), and the customer's ``mrr`` column follows the
    newest movement."""
    if new_mrr < 0:
        raise HandlerError(f"customer {customer.id}: MRR must not be negative ({new_mrr})")
    previous = session.execute(
        select(MrrMovement.new_mrr)
        .where(MrrMovement.customer_id == customer.id, MrrMovement.at <= at)
        .order_by(MrrMovement.at.desc(), MrrMovement.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    old = previous or 0.0
    churned_before = (
        session.execute(
            select(MrrMovement.id)
            .where(MrrMovement.customer_id == customer.id, MrrMovement.at <= at, MrrMovement.kind == "churn")
            .limit(1)
        ).first()
        is not None
    )
    movement = MrrMovement(
        customer_id=customer.id,
        at=at,
        kind=classify_movement(old, new_mrr, churned_before=churned_before),
        old_mrr=old,
        new_mrr=new_mrr,
    )
    session.add(movement)
    session.flush()
    newest = session.execute(
        select(MrrMovement.new_mrr)
        .where(MrrMovement.customer_id == customer.id)
        .order_by(MrrMovement.at.desc(), MrrMovement.id.desc())
        .limit(1)
    ).scalar_one()
    customer.mrr = newest
    return movement


def set_field(customer: Customer, field: str, raw: str) -> tuple[object, object]:
    """Set one editable field from text; returns (before, after)."""
    kind = EDITABLE.get(field)
    if kind is None:
        raise HandlerError(f"customer field {field!r} cannot be set (allowed: {', '.join(EDITABLE)})")
    try:
        value = kind(raw)
    except ValueError:
        raise HandlerError(f"customer field {field!r}: {raw!r} is not a valid {kind.__name__}") from None
    if field == "stage" and value not in STAGES:
        raise HandlerError(f"customer stage {value!r} is not one of {', '.join(STAGES)}")
    before = getattr(customer, field)
    setattr(customer, field, value)
    return before, value
