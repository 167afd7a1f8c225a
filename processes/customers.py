"""The customer record and the few tables the lifecycle handlers keep beside it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Float, ForeignKey, Index, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine import HandlerError
from engine.models import Base, UTCDateTime

STAGES = ("prospect", "onboarding", "active", "offboarding", "churned")
SEGMENTS = ("smb", "mid_market", "enterprise")
EDITABLE = {"stage": str, "plan": str, "mrr": float, "csm_owner": str}
# How an MRR movement is classified from the value before it: new (0 -> >0 for the first time), expansion,
# contraction, churn (-> 0), reactivation (0 -> >0 after a churn), flat (same value).
MOVEMENT_KINDS = ("new", "expansion", "contraction", "churn", "reactivation", "flat")
BANDS = ("healthy", "watch", "at_risk")
LANGUAGES = ("en", "pt_BR")
# The account fields a CS team keeps, in the order forms and listings show them.
FIELDS = (
    "id",
    "name",
    "email",
    "segment",
    "plan",
    "mrr",
    "currency",
    "csm_owner",
    "contract_start",
    "renewal_date",
    "stage",
    "external_id",
)
CONTACT_FIELDS = ("name", "email", "role", "language")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


class Customer(Base):
    __tablename__ = "customer"
    __table_args__ = (
        Index("ix_customer_owner", "csm_owner"),
        Index("ix_customer_segment", "segment"),
        # the customers list's default order (at risk first) walks this index a page at a time
        Index("ix_customer_health", "health_score"),
        # the KPIs' sum of current MRR per segment and owner reads this index only
        Index("ix_customer_segment_owner_mrr", "segment", "csm_owner", "mrr"),
    )

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
    """Record the customer's MRR from ``at`` on. The movement is classified from the value in force just before
    ``at``; movements may arrive out of order (an import of older history), so the movement that follows it is
    classified again from the new value, and the customer's ``mrr`` column follows the newest movement."""
    if new_mrr < 0:
        raise HandlerError(f"customer {customer.id}: MRR must not be negative ({new_mrr})")
    mine = MrrMovement.customer_id == customer.id
    before = session.execute(
        select(MrrMovement.new_mrr).where(mine, MrrMovement.at <= at).order_by(*_LATEST).limit(1)
    ).scalar_one_or_none()
    churned = session.execute(select(MrrMovement.id).where(mine, MrrMovement.at <= at, MrrMovement.kind == "churn"))
    churned_before = churned.first() is not None
    old = before or 0.0
    kind = classify_movement(old, new_mrr, churned_before=churned_before)
    movement = MrrMovement(customer_id=customer.id, at=at, kind=kind, old_mrr=old, new_mrr=new_mrr)
    session.add(movement)
    session.flush()
    following = session.execute(
        select(MrrMovement).where(mine, MrrMovement.at > at).order_by(MrrMovement.at, MrrMovement.id).limit(1)
    ).scalar_one_or_none()
    if following is not None:  # it was classified from the value before this one: classify it again
        churned_before = churned_before or kind == "churn"
        following.old_mrr = new_mrr
        following.kind = classify_movement(new_mrr, following.new_mrr, churned_before=churned_before)
    customer.mrr = session.execute(select(MrrMovement.new_mrr).where(mine).order_by(*_LATEST).limit(1)).scalar_one()
    return movement


_LATEST = (MrrMovement.at.desc(), MrrMovement.id.desc())


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


# -- validation ------------------------------------------------------------------------------------------------
class CustomerError(ValueError):
    """Customer input that cannot be stored: ``fields`` maps each wrong field to what is wrong with it."""

    def __init__(self, fields: Mapping[str, str]) -> None:
        self.fields = dict(fields)
        super().__init__("; ".join(f"{name}: {message}" for name, message in self.fields.items()))


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value: Any, limit: int) -> str:
    if not isinstance(value, str):
        raise ValueError("must be text")
    text = value.strip()
    if len(text) > limit:
        raise ValueError(f"must be at most {limit} characters")
    return text


def _pattern(pattern: re.Pattern[str], message: str, limit: int) -> Any:
    def check(value: Any) -> str:
        text = _text(value, limit)
        if not pattern.match(text):
            raise ValueError(message)
        return text

    return check


def _choice(choices: tuple[str, ...]) -> Any:
    def check(value: Any) -> str:
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return str(value)

    return check


def _money(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("must be a number")
    try:
        number = float(str(value).strip().replace(",", "")) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        raise ValueError("must be a number") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError("must be a number")
    if number < 0:
        raise ValueError("must not be negative")
    return round(number, 2)


def _day(value: Any) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return date.fromisoformat(_text(value, 10))
    except ValueError:
        raise ValueError("must be a date (YYYY-MM-DD)") from None


# field -> (checker of a non-blank value, whether the field may be blank)
_CHECKS: dict[str, tuple[Any, bool]] = {
    "id": (_pattern(_ID, "must be letters, digits, '.', '_' or '-' (at most 64)", 64), True),
    "name": (lambda v: _text(v, 200), False),
    "email": (_pattern(_EMAIL, "must be an e-mail address", 200), True),
    "segment": (_choice(SEGMENTS), False),
    "plan": (lambda v: _text(v, 50), False),
    "mrr": (_money, False),
    "currency": (
        lambda v: _pattern(_CURRENCY, "must be a 3-letter ISO 4217 code, e.g. USD", 3)(_text(v, 3).upper()),
        False,
    ),
    "csm_owner": (lambda v: _text(v, 100), True),
    "contract_start": (_day, True),
    "renewal_date": (_day, True),
    "stage": (_choice(STAGES), False),
    "external_id": (lambda v: _text(v, 100), True),
}
_CONTACT_CHECKS: dict[str, tuple[Any, bool]] = {
    "name": (lambda v: _text(v, 200), False),
    "email": (_pattern(_EMAIL, "must be an e-mail address", 200), False),
    "role": (lambda v: _text(v, 100), True),
    "language": (_choice(LANGUAGES), False),
}


def _clean(
    raw: Mapping[str, Any], checks: Mapping[str, tuple[Any, bool]], *, required: tuple[str, ...]
) -> dict[str, Any]:
    errors = {name: "is not a known field" for name in raw if name not in checks}
    values: dict[str, Any] = {}
    for name, value in raw.items():
        if name not in checks:
            continue
        check, may_be_blank = checks[name]
        if _blank(value):
            if may_be_blank:
                values[name] = None
            else:
                errors[name] = "is required"
            continue
        try:
            values[name] = check(value)
        except ValueError as exc:
            errors[name] = str(exc)
    for name in required:
        if name not in raw and name not in errors:
            errors[name] = "is required"
    if errors:
        raise CustomerError(errors)
    return values


def clean_customer(raw: Mapping[str, Any], *, new: bool) -> dict[str, Any]:
    """Checked, typed account values from text (forms, CLI) or JSON; ``new`` requires a name. Raises
    CustomerError naming every wrong field."""
    values = _clean(raw, _CHECKS, required=("name",) if new else ())
    start, renewal = values.get("contract_start"), values.get("renewal_date")
    if start and renewal and renewal < start:
        raise CustomerError({"renewal_date": "must not be before the contract start"})
    return values


def clean_contact(raw: Mapping[str, Any], *, new: bool) -> dict[str, Any]:
    return _clean(raw, _CONTACT_CHECKS, required=("name", "email") if new else ())


def account(customer: Customer) -> dict[str, Any]:
    """The account fields as JSON-ready values (the audit's before/after, the API, the CLI)."""
    values = {name: getattr(customer, name) for name in FIELDS}
    for name in ("contract_start", "renewal_date"):
        values[name] = values[name].isoformat() if values[name] else None
    return values
