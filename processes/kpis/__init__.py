"""The CS KPIs of a period (``first``..``last``, whole UTC days) for all customers or one segment / CSM owner.

Definitions (DESIGN.md "KPI definitions", made precise):

- A customer is *active* at an instant when its MRR then is above zero. Its MRR at instant t is the ``new_mrr`` of
  its latest movement at or before t (a movement applies from its ``at`` on), computed as the current MRR minus
  the movements after t (see ``processes/kpis/mrr.py``). Values under half a cent count as zero.
- ``customers_start`` / ``mrr_start``: active customers and their MRR at ``first`` 00:00 UTC (a movement at exactly
  that instant counts). ``customers_end`` / ``mrr_end``: the same at ``last`` 23:59:59.999999 UTC.
- The *cohort*: the start customers c, each with MRR s_c > 0 at the start and e_c (>= 0) at the end.
  churned when e_c == 0 (a customer that churned and came back within the period is not churned);
  ``logo_churn`` = churned / customers_start; ``retention`` = 1 - logo_churn;
  ``grr`` = sum(min(e_c, s_c)) / sum(s_c) = 1 - (churned + contraction MRR) / starting MRR;
  ``nrr`` = sum(e_c) / sum(s_c) = 1 - (churned + contraction - expansion) / starting MRR.
  Customers won during the period are in neither sum.
- ``mrr_prev_month`` / ``mrr_prev_quarter`` / ``mrr_prev_year``: total MRR at the end of the day 1, 3 and 12
  calendar months before ``last``; when ``last`` is a month's last day, the earlier month's last day (30 Jun ->
  31 May, 31 Mar, 30 Jun of the year before), else the same day number clipped to the month (15 Mar -> 15 Feb).
- ``arpa`` = mrr_end / customers_end. ``ltv`` = arpa / monthly logo churn, where the period's churn is turned into
  a 30-day rate by compounding: monthly = 1 - (1 - logo_churn) ** (30 / days in the period); None when there
  was no churn (or no ARPA).
- ``nps`` = 100 * (promoters 9-10 - detractors 0-6) / answers; ``csat`` = answers 4-5 / answers (1-5 scale);
  ``ces`` = mean answer on the configured effort scale (higher = more effort); over the answers given in the
  period, read from the ``cs_daily`` rollup.
- ``frt_median_hours``: median hours from a ticket's creation to its first response, over the tickets created in
  the period that have one. ``fcr`` = tickets resolved in the period at first contact / tickets resolved in the
  period.
- ``time_to_implement_median_days``: median days from onboarding start to go-live over the customers that went
  live in the period: go-live = the customer's stage set to "active" (the journey's ``set_stage_active`` after
  quick wins, or a person's edit; audited as ``customer_updated``), its first in the period; onboarding start =
  the start of the customer's latest ``customer_journey`` instance before it (a customer onboarded again is
  measured from its new journey; one set back to onboarding by hand and active again counts again, from its
  journey). ``time_to_first_value_median_days``: the same to the first quick win (the quick_wins step
  ``confirm_first_win`` completed), over the customers with a first win in the period.
- ``active_days_per_account`` / ``events_per_account``: customer-days with product events and events in the period
  (from the rollups) / customers_end. ``tickets_per_account``: tickets created in the period / customers_end;
  ``repeat_ticket_rate``: share of those tickets opened within 30 days of the same customer's previous ticket.
- ``nps_answers`` / ``csat_answers`` / ``ces_answers``: how many answers each figure is over.

Rates are fractions 0-1, NPS is -100..100, and a figure is None where it is undefined (nothing to divide by).
A segment or owner filter uses the customer's current segment and owner; survey answers and events count under
the segment and owner the customer had when they arrived (the rollups keep them so).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from processes.kpis import activity, mrr
from processes.kpis.sql import Period, Scope, end_of, month_end, months_before

__all__ = ["FORMULAS", "CsKpis", "cs_kpis", "monthly_series"]

FORMULAS: dict[str, str] = {
    "customers_start": "customers with MRR > 0 at the period's first instant (from 00:00 UTC)",
    "customers_end": "customers with MRR > 0 at the period's last instant (to 23:59:59 UTC)",
    "logo_churn": "start customers with no MRR at the end ÷ customers at the start",
    "retention": "1 − logo churn (the same start customers)",
    "mrr_start": "sum of MRR at the period's first instant",
    "mrr_end": "sum of MRR at the period's last instant",
    "grr": "1 − (churned + contraction MRR) ÷ starting MRR, over the start customers",
    "nrr": "1 − (churned + contraction − expansion MRR) ÷ starting MRR, over the start customers",
    "nps": "% promoters (9–10) − % detractors (0–6) of the NPS answers in the period",
    "csat": "CSAT answers 4–5 ÷ CSAT answers (1–5) in the period",
    "ces": "mean CES answer in the period (effort scale, higher = more effort)",
    "arpa": "MRR at the end ÷ customers at the end",
    "ltv": "ARPA ÷ monthly logo churn (the period's churn compounded to 30 days)",
    "frt_median_hours": "median of ticket created → first response, tickets created in the period (hours)",
    "fcr": "tickets resolved at first contact ÷ tickets resolved in the period",
    "mrr_prev_month": "MRR one month before the period's end (month end to month end)",
    "mrr_prev_quarter": "MRR three months before the period's end (month end to month end)",
    "mrr_prev_year": "MRR one year before the period's end (month end to month end)",
    "time_to_implement_median_days": "median of journey start → go-live (stage set to active), go-lives in the period",
    "time_to_first_value_median_days": "median of journey start → first quick win, first wins in the period",
    "active_days_per_account": "customer-days with product events in the period ÷ customers at the end",
    "events_per_account": "product events in the period ÷ customers at the end",
    "tickets_per_account": "tickets created in the period ÷ customers at the end",
    "repeat_ticket_rate": "tickets opened within 30 days of the customer's previous ticket ÷ tickets created",
    "nps_answers": "NPS answers in the period",
    "csat_answers": "CSAT answers in the period",
    "ces_answers": "CES answers in the period",
}

# how many decimals each kind of figure keeps in JSON
_MONEY = ("mrr_start", "mrr_end", "arpa", "ltv", "mrr_prev_month", "mrr_prev_quarter", "mrr_prev_year")
_RATES = ("logo_churn", "retention", "grr", "nrr", "csat", "fcr", "repeat_ticket_rate")
_ONE = ("nps",)


@dataclass(frozen=True)
class CsKpis:
    customers_start: int
    customers_end: int
    logo_churn: float | None
    retention: float | None
    mrr_start: float
    mrr_end: float
    grr: float | None
    nrr: float | None
    nps: float | None
    csat: float | None
    ces: float | None
    arpa: float | None
    ltv: float | None
    frt_median_hours: float | None
    fcr: float | None
    mrr_prev_month: float
    mrr_prev_quarter: float
    mrr_prev_year: float
    time_to_implement_median_days: float | None
    time_to_first_value_median_days: float | None
    active_days_per_account: float | None
    events_per_account: float | None
    tickets_per_account: float | None
    repeat_ticket_rate: float | None
    nps_answers: int
    csat_answers: int
    ces_answers: int

    def as_json(self) -> dict[str, Any]:
        """Every figure as JSON: money to cents, rates to 4 decimals, NPS to 1, the rest to 2; None stays null."""
        result: dict[str, Any] = {}
        for name, value in asdict(self).items():
            if value is None or isinstance(value, int):
                result[name] = value
            elif name in _MONEY:
                result[name] = round(value, 2)
            elif name in _RATES:
                result[name] = round(value, 4)
            elif name in _ONE:
                result[name] = round(value, 1)
            else:
                result[name] = round(value, 2)
        return result


def _ratio(top: float, bottom: float) -> float | None:
    return top / bottom if bottom else None


def cs_kpis(
    session: Session,
    *,
    first: date,
    last: date,
    segment: str | None = None,
    owner: str | None = None,
    config: Mapping[str, Any],
) -> CsKpis:
    """The CS KPIs of the days ``first``..``last`` (inclusive), see the module docstring for each definition."""
    if last < first:
        raise ValueError(f"the period ends ({last}) before it starts ({first})")
    period, scope = Period(first, last), Scope(segment or None, owner or None)
    now = mrr.current(session, scope)
    money = mrr.figures(session, period, scope, now)
    earlier = [end_of(months_before(last, months)) for months in (1, 3, 12)]
    prev_month, prev_quarter, prev_year = mrr.mrr_at(session, earlier, scope, now)
    sums = activity.rollup(session, period, scope)
    support = activity.tickets(session, period, scope)
    churn = _ratio(money.churned, money.customers_start)
    arpa = _ratio(money.mrr_end, money.customers_end)
    ltv = None
    if churn and arpa is not None:
        monthly = 1 - (1 - churn) ** (30 / period.days)
        ltv = arpa / monthly if monthly > 0 else None
    accounts = money.customers_end
    return CsKpis(
        customers_start=money.customers_start,
        customers_end=money.customers_end,
        logo_churn=churn,
        retention=None if churn is None else 1 - churn,
        mrr_start=money.mrr_start,
        mrr_end=money.mrr_end,
        grr=_ratio(money.cohort_kept, money.mrr_start),
        nrr=_ratio(money.cohort_end, money.mrr_start),
        nps=_ratio(100.0 * (sums.nps_promoters - sums.nps_detractors), sums.nps_n),
        csat=_ratio(sums.csat_satisfied, sums.csat_n),
        ces=_ratio(sums.ces_sum, sums.ces_n),
        arpa=arpa,
        ltv=ltv,
        frt_median_hours=support.frt_median_hours,
        fcr=_ratio(support.resolved_first_contact, support.resolved),
        mrr_prev_month=prev_month,
        mrr_prev_quarter=prev_quarter,
        mrr_prev_year=prev_year,
        time_to_implement_median_days=activity.time_to_implement_days(session, period, scope),
        time_to_first_value_median_days=activity.time_to_first_value_days(session, period, scope),
        active_days_per_account=_ratio(sums.active_days, accounts),
        events_per_account=_ratio(sums.events, accounts),
        tickets_per_account=_ratio(support.created, accounts),
        repeat_ticket_rate=_ratio(support.repeats, support.created),
        nps_answers=sums.nps_n,
        csat_answers=sums.csat_n,
        ces_answers=sums.ces_n,
    )


def monthly_series(
    session: Session,
    *,
    first: date,
    last: date,
    segment: str | None = None,
    owner: str | None = None,
    config: Mapping[str, Any],
) -> list[dict[str, Any]]:
    """One point per calendar month touching ``first``..``last`` (each month clipped to the range): month
    ('YYYY-MM'), mrr_end and customers_end at the month's last instant, nps and csat of its answers, and the
    month's logo churn (its own start customers as the cohort), rounded as in ``CsKpis.as_json``."""
    if last < first:
        raise ValueError(f"the period ends ({last}) before it starts ({first})")
    scope = Scope(segment or None, owner or None)
    now = mrr.current(session, scope)
    points: list[dict[str, Any]] = []
    day = first
    while day <= last:
        period = Period(day, min(month_end(day), last))
        money = mrr.figures(session, period, scope, now)
        sums = activity.rollup(session, period, scope)
        nps = _ratio(100.0 * (sums.nps_promoters - sums.nps_detractors), sums.nps_n)
        csat = _ratio(sums.csat_satisfied, sums.csat_n)
        churn = _ratio(money.churned, money.customers_start)
        points.append(
            {
                "month": f"{day:%Y-%m}",
                "mrr_end": round(money.mrr_end, 2),
                "customers_end": money.customers_end,
                "nps": None if nps is None else round(nps, 1),
                "csat": None if csat is None else round(csat, 4),
                "logo_churn": None if churn is None else round(churn, 4),
            }
        )
        day = period.last + (date(2000, 1, 2) - date(2000, 1, 1))
    return points
