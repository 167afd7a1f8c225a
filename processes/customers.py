"""The customer record and the few tables the lifecycle handlers keep beside it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.handlers import HandlerError
from engine.models import Base, UTCDateTime

STAGES = ("prospect", "onboarding", "active", "offboarding", "churned")
EDITABLE = {"stage": str, "plan": str, "mrr": float, "csm_owner": str}


class Customer(Base):
    __tablename__ = "customer"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(200))
    plan: Mapped[str] = mapped_column(String(50), default="standard")
    mrr: Mapped[float] = mapped_column(Float, default=0.0)
    csm_owner: Mapped[str | None] = mapped_column(String(100))
    stage: Mapped[str] = mapped_column(String(20), default="prospect")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MrrMovement(Base):
    __tablename__ = "mrr_movement"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(20))  # new expansion contraction churn
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
    plan: str = "standard",
    mrr: float = 0.0,
    csm_owner: str | None = None,
    accesses: tuple[str, ...] = ("sso", "api_keys", "admin_accounts", "integrations"),
) -> Customer:
    customer = Customer(
        id=customer_id,
        name=name,
        email=email,
        plan=plan,
        mrr=mrr,
        csm_owner=csm_owner,
        stage="prospect",
        created_at=now,
    )
    session.add(customer)
    session.flush()
    for item in accesses:
        session.add(AccessGrant(customer_id=customer_id, item=item, detail=f"{item} of {name}"))
    if mrr:
        session.add(MrrMovement(customer_id=customer_id, at=now, kind="new", old_mrr=0.0, new_mrr=mrr))
    return customer


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
