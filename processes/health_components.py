"""The health score's components, measured for many customers at once: one grouped query per component (two for
the MRR trend) whatever the number of customers. Each gives a 0-100 value and a detail string people read, or
only a detail when the customer has no data for it (the component is then left out of the score). The formulas
are in ``processes/health.py``'s docstring and docs/health.md."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from engine import OPEN_TASK_STATES
from engine.models import HumanTask
from processes.customers import Invoice, MrrMovement
from processes.rollups import CustomerDay
from processes.surveys import SurveyAnswer
from processes.tickets import SupportTicket

SUPPORT_DAYS, SENTIMENT_DAYS, MRR_DAYS = 90, 180, 90

Raw = dict[str, tuple[float, str] | str]  # key -> (value, detail), or the detail of a component left out


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _usage(session: Session, ids: Sequence[str], now: datetime, window: int, raw: dict[str, Raw]) -> None:
    today = now.astimezone(UTC).date()
    active = dict(
        session.execute(
            select(CustomerDay.customer_id, func.count())
            .where(CustomerDay.customer_id.in_(ids), CustomerDay.day > today - timedelta(days=window))
            .where(CustomerDay.day <= today)
            .group_by(CustomerDay.customer_id)
        ).all()
    )
    idle = [cid for cid in ids if cid not in active]
    used = set(
        session.execute(select(CustomerDay.customer_id).where(CustomerDay.customer_id.in_(idle)).distinct()).scalars()
        if idle
        else []
    )
    for cid in ids:
        days = int(active.get(cid, 0))
        if days or cid in used:
            raw[cid]["usage"] = (min(100.0, 100.0 * days / window), f"{_n(days, 'active day')} of {window}")
        else:
            raw[cid]["usage"] = "no product event yet"


def _support(session: Session, ids: Sequence[str], now: datetime, raw: dict[str, Raw]) -> None:
    repeats = func.sum(case((SupportTicket.repeat_within_30d.is_(True), 1), else_=0))
    found = {
        cid: (int(n), int(r or 0))
        for cid, n, r in session.execute(
            select(SupportTicket.customer_id, func.count(), repeats)
            .where(SupportTicket.customer_id.in_(ids), SupportTicket.created_at > now - timedelta(days=SUPPORT_DAYS))
            .where(SupportTicket.created_at <= now)
            .group_by(SupportTicket.customer_id)
        ).all()
    }
    for cid in ids:
        tickets, repeated = found.get(cid, (0, 0))
        value = max(0.0, 100.0 - 10 * tickets - 20 * repeated)
        raw[cid]["support"] = (
            value,
            f"{_n(tickets, 'ticket')} in {SUPPORT_DAYS} days, {repeated} repeated within 30 days",
        )


def _sentiment(session: Session, ids: Sequence[str], now: datetime, raw: dict[str, Raw]) -> None:
    order = func.row_number().over(
        partition_by=(SurveyAnswer.customer_id, SurveyAnswer.kind),
        order_by=(SurveyAnswer.at.desc(), SurveyAnswer.id.desc()),
    )
    ranked = (
        select(SurveyAnswer.customer_id, SurveyAnswer.kind, SurveyAnswer.score, SurveyAnswer.at, order.label("n"))
        .where(SurveyAnswer.customer_id.in_(ids), SurveyAnswer.kind.in_(("nps", "csat")))
        .where(SurveyAnswer.at > now - timedelta(days=SENTIMENT_DAYS), SurveyAnswer.at <= now)
        .subquery()
    )
    latest: dict[str, dict[str, tuple[int, datetime]]] = {}
    for cid, kind, score, at in session.execute(
        select(ranked.c.customer_id, ranked.c.kind, ranked.c.score, ranked.c.at).where(ranked.c.n == 1)
    ).all():
        latest.setdefault(cid, {})[kind] = (int(score), at)
    for cid in ids:
        answers = latest.get(cid, {})
        values, parts = [], []
        if "nps" in answers:
            score, at = answers["nps"]
            values.append(score * 10.0)
            parts.append(f"NPS {score} on {at:%Y-%m-%d}")
        if "csat" in answers:
            score, at = answers["csat"]
            values.append((score - 1) * 25.0)
            parts.append(f"CSAT {score} on {at:%Y-%m-%d}")
        if values:
            raw[cid]["sentiment"] = (sum(values) / len(values), ", ".join(parts))
        else:
            raw[cid]["sentiment"] = f"no NPS or CSAT answer in {SENTIMENT_DAYS} days"


def _payment(session: Session, ids: Sequence[str], now: datetime, raw: dict[str, Raw]) -> None:
    overdue = and_(Invoice.due_at < now, or_(Invoice.paid_at.is_(None), Invoice.paid_at > now))
    found = {
        cid: (int(n), int(late or 0), oldest)
        for cid, n, late, oldest in session.execute(
            select(
                Invoice.customer_id,
                func.count(),
                func.sum(case((overdue, 1), else_=0)),
                func.min(case((overdue, Invoice.due_at), else_=None)),
            )
            .where(Invoice.customer_id.in_(ids))
            .group_by(Invoice.customer_id)
        ).all()
    }
    for cid in ids:
        if cid not in found:
            raw[cid]["payment"] = "no invoice on file"
            continue
        _, late, oldest = found[cid]
        days = (now - oldest).days if late else 0
        value = max(0.0, 100.0 - 25 * late - min(50, days))
        raw[cid]["payment"] = (value, f"{_n(late, 'unpaid invoice')} past due, the oldest {_n(days, 'day')} overdue")


def _stuck(session: Session, ids: Sequence[str], now: datetime, raw: dict[str, Raw]) -> None:
    found = dict(
        session.execute(
            select(HumanTask.customer_id, func.count())
            .where(HumanTask.customer_id.in_(ids), HumanTask.state.in_(OPEN_TASK_STATES), HumanTask.stuck_at <= now)
            .group_by(HumanTask.customer_id)
        ).all()
    )
    for cid in ids:
        stuck = int(found.get(cid, 0))
        raw[cid]["stuck_steps"] = (max(0.0, 100.0 - 30 * stuck), f"{_n(stuck, 'open step')} past the stuck threshold")


def _mrr_at(session: Session, ids: Sequence[str], at: datetime) -> dict[str, float]:
    order = func.row_number().over(
        partition_by=MrrMovement.customer_id, order_by=(MrrMovement.at.desc(), MrrMovement.id.desc())
    )
    ranked = (
        select(MrrMovement.customer_id, MrrMovement.new_mrr, order.label("n"))
        .where(MrrMovement.customer_id.in_(ids), MrrMovement.at <= at)
        .subquery()
    )
    rows = session.execute(select(ranked.c.customer_id, ranked.c.new_mrr).where(ranked.c.n == 1)).all()
    return {cid: float(mrr) for cid, mrr in rows}


def _mrr_trend(session: Session, ids: Sequence[str], now: datetime, raw: dict[str, Raw]) -> None:
    current, before = _mrr_at(session, ids, now), _mrr_at(session, ids, now - timedelta(days=MRR_DAYS))
    for cid in ids:
        then, mrr = before.get(cid, 0.0), current.get(cid, 0.0)
        if then <= 0:
            raw[cid]["mrr_trend"] = f"no MRR {MRR_DAYS} days ago"
            continue
        change = (mrr - then) / then
        value = max(0.0, min(100.0, 100.0 + 200.0 * change))
        raw[cid]["mrr_trend"] = (value, f"MRR {mrr:.2f} now, {then:.2f} {MRR_DAYS} days ago ({change:+.1%})")


def measure(session: Session, ids: Sequence[str], now: datetime, usage_window_days: int) -> dict[str, Raw]:
    """Every component of each customer in ``ids`` (keep the list to a few hundred ids: it goes into IN (...))."""
    raw: dict[str, Raw] = {cid: {} for cid in ids}
    _usage(session, ids, now, usage_window_days, raw)
    _support(session, ids, now, raw)
    _sentiment(session, ids, now, raw)
    _payment(session, ids, now, raw)
    _stuck(session, ids, now, raw)
    _mrr_trend(session, ids, now, raw)
    return raw
