"""The demo's established book of business: customers signed months ago, across segments and CSM owners, with
their MRR history, contacts, NPS/CSAT/CES answers and product usage, so the CS dashboard, the customers list and
the customer 360 pages have a past to show. Each customer has an engagement level that drives its usage, its
answers and its MRR path; the least engaged end up at risk."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from processes.customers import AccessGrant, Contact, Customer, Invoice, MrrMovement, create_customer, record_mrr
from processes.events import record_event
from processes.surveys import record_answer

SEGMENT_MRR = {"smb": (300, 900), "mid_market": (1500, 4000), "enterprise": (6000, 15000)}
SEGMENT_WEIGHTS = (("smb", 0.5), ("mid_market", 0.35), ("enterprise", 0.15))
SEGMENTS = tuple(segment for segment, _ in SEGMENT_WEIGHTS)
FEATURES = ("reports", "dashboards", "api", "automations", "sso", "exports")
CONTACT_NAMES = ("Marina Costa", "João Lima", "Emily Clark", "Rafael Souza", "Olivia Brown", "Lucas Rocha")
ROLES = ("champion", "admin", "sponsor")


@dataclass(frozen=True)
class Profile:
    """How a book customer behaves: engagement 0..1 (usage, answers, MRR path)."""

    segment: str
    engagement: float
    months: int  # since the contract started


def _segment(rng: random.Random) -> str:
    roll, total = rng.random(), 0.0
    for segment, weight in SEGMENT_WEIGHTS:
        total += weight
        if roll < total:
            return segment
    return "smb"


def _moment(day: date, rng: random.Random, tz: Any) -> datetime:
    return datetime.combine(day, datetime.min.time(), tz) + timedelta(
        hours=rng.randint(8, 19), minutes=rng.randint(0, 59)
    )


LATEST = (MrrMovement.at.desc(), MrrMovement.id.desc())
TROUBLED = 0.3  # below this engagement a customer also pays late and keeps opening tickets


def add_book(
    session: Session,
    rng: random.Random,
    *,
    count: int,
    first_number: int,
    now: datetime,
    owners: list[str],
    names: list[str],
    config: dict[str, Any],
) -> dict[str, float]:
    """Create ``count`` established (active) customers with their history up to ``now``; returns their ids with
    their engagement (below TROUBLED: late invoices, and the simulation gives them many tickets)."""
    engagement: dict[str, float] = {}
    for n in range(count):
        number = first_number + n
        profile = Profile(_segment(rng), rng.betavariate(2.2, 1.6), rng.randint(4, 20))
        customer_id = f"C-{number:04d}"
        name = f"{names[number % len(names)]} {number}"
        start = (now - timedelta(days=30 * profile.months)).date()
        low, high = SEGMENT_MRR[profile.segment]
        customer = create_customer(
            session,
            customer_id,
            name,
            now=now,
            email=f"cs@{name.split()[0].lower()}{number}.example",
            segment=profile.segment,
            plan={"smb": "standard", "mid_market": "professional", "enterprise": "enterprise"}[profile.segment],
            mrr=float(rng.randrange(low, high, 50)),
            csm_owner=rng.choice(owners),
            contract_start=start,
            renewal_date=start + timedelta(days=365 * (1 + (now.date() - start).days // 365)),
            stage="active",
            accesses=("sso", "api_keys"),
        )
        customer.created_at = datetime.combine(start, datetime.min.time(), now.tzinfo)
        _contacts(session, rng, customer, now)
        _mrr_history(session, rng, customer, profile, now)
        _answers(session, rng, customer, profile, now, config)
        _usage(session, rng, customer, profile, now)
        if profile.engagement < TROUBLED and customer.stage != "churned":
            _trouble(session, rng, customer, now)
        engagement[customer_id] = profile.engagement
    return engagement


def _contacts(session: Session, rng: random.Random, customer: Customer, now: datetime) -> None:
    for index in range(rng.randint(1, 3)):
        person = rng.choice(CONTACT_NAMES)
        session.add(
            Contact(
                customer_id=customer.id,
                name=person,
                email=f"{person.split()[0].lower()}.{index}@{customer.id.lower()}.example",
                role=ROLES[index % len(ROLES)],
                language="pt_BR" if person in ("Marina Costa", "João Lima", "Rafael Souza", "Lucas Rocha") else "en",
                created_at=now,
            )
        )


def _mrr_history(session: Session, rng: random.Random, customer: Customer, profile: Profile, now: datetime) -> None:
    """A movement every few months: engaged customers grow, disengaged ones shrink; a few churn and come back."""
    month = 2 + rng.randint(0, 2)
    while month < profile.months:
        at = now - timedelta(days=30 * (profile.months - month)) + timedelta(days=rng.randint(0, 20))
        drift = (profile.engagement - 0.45) * 0.5 + rng.uniform(-0.1, 0.1)
        new = max(100.0, round(customer.mrr * (1 + drift) / 50) * 50)
        if profile.engagement < 0.2 and rng.random() < 0.3:
            new = 0.0
        elif customer.mrr == 0:
            new = float(SEGMENT_MRR[profile.segment][0])
        if new != customer.mrr:
            record_mrr(session, customer, at, new)
        month += rng.randint(2, 5)
    if profile.engagement < 0.12 and customer.mrr > 0:  # the least engaged leave in the last two months
        record_mrr(session, customer, now - timedelta(days=rng.randint(5, 55)), 0.0)
    if customer.mrr == 0:
        customer.stage = "churned"
        _revoke_access(session, customer)


def _revoke_access(session: Session, customer: Customer) -> None:
    """A customer who churned before the demo began had its accesses revoked when it left (at its last movement,
    the churn): the book holds no churned customer with an open grant."""
    churned_at = session.execute(
        select(MrrMovement.at).where(MrrMovement.customer_id == customer.id).order_by(*LATEST).limit(1)
    ).scalar_one()
    grants = session.execute(
        select(AccessGrant).where(AccessGrant.customer_id == customer.id, AccessGrant.revoked_at.is_(None))
    ).scalars()
    for grant in grants:
        grant.revoked_at, grant.revoked_by = churned_at, "demo"


def _answers(
    session: Session, rng: random.Random, customer: Customer, profile: Profile, now: datetime, config: dict[str, Any]
) -> None:
    """An NPS answer a quarter, CSAT and CES answers now and then; the score follows the engagement."""
    days = 30 * profile.months
    for back in range(rng.randint(5, 40), days, 90):
        nps = nps_score(rng, profile.engagement)
        record_answer(
            session, config, customer=customer, kind="nps", score=nps, at=now - timedelta(days=back), source="demo"
        )
    for back in range(rng.randint(3, 30), min(days, 365), 45):
        csat = min(5, max(1, round(1 + profile.engagement * 4 + rng.gauss(0, 0.7))))
        ces = min(int(config["surveys"]["ces_max"]), max(0, round((1 - profile.engagement) * 5 + rng.gauss(0, 0.8))))
        at = now - timedelta(days=back)
        record_answer(session, config, customer=customer, kind="csat", score=csat, at=at, source="demo")
        record_answer(session, config, customer=customer, kind="ces", score=ces, at=at, source="demo")


def _trouble(session: Session, rng: random.Random, customer: Customer, now: datetime) -> None:
    """A disengaged customer's other warning sign: an invoice left unpaid past its due date (their tickets come
    from the simulation: see ``Simulation.occurrences``)."""
    session.add(
        Invoice(
            customer_id=customer.id,
            amount=round(customer.mrr * rng.choice((1, 2)), 2),
            due_at=now - timedelta(days=rng.randint(10, 45)),
        )
    )


def nps_score(rng: random.Random, engagement: float) -> int:
    """How likely an account of this engagement is to recommend us, 0-10 (the engaged are mostly promoters)."""
    return min(10, max(0, round(3 + engagement * 8 + rng.gauss(0, 1.3))))


def _usage(session: Session, rng: random.Random, customer: Customer, profile: Profile, now: datetime) -> None:
    """Product events over the last 90 days: the engaged use the product most days; the disengaged fade out."""
    if customer.stage == "churned":
        return
    for back in range(90, 0, -1):
        fading = profile.engagement if back > 20 else profile.engagement**2
        if rng.random() > fading:
            continue
        day = (now - timedelta(days=back)).date()
        for _ in range(rng.randint(1, 4)):
            record_event(
                session,
                customer=customer,
                name="feature_used",
                at=_moment(day, rng, now.tzinfo),
                properties={"feature": rng.choice(FEATURES)},
                source="demo",
                now=now,
            )
