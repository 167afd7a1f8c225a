"""The CS dashboard (leads, admins, auditors): the customer KPIs of a period as cards with their formulas, charts
over the months (MRR, NPS, logo churn) and the health distribution, the customers most at risk, filters by period,
segment and CSM owner, and a CSV of exactly what is shown. Every figure comes from ``processes.kpis``."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from flask import Blueprint, Response, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import format_decimal, format_percent
from flask_babel import gettext as _
from sqlalchemy import Integer, case, cast, func, select
from sqlalchemy.orm import Session

from processes import kpis
from processes.customers import SEGMENTS, Customer
from web.accounts.permissions import KPIS, requires
from web.context import read_session, runtime
from web.customers.labels import BAND_LABELS, FORMULAS, KPI_LABELS, SEGMENT_LABELS
from web.kpis import BRAND, bar_chart

bp = Blueprint("cs", __name__)

AT_RISK_ROWS = 10
# Dates outside these years are typos (and would overflow the figures' "a year earlier"); a longer period would
# mean hundreds of monthly points, each a few queries.
FIRST_YEAR, LAST_YEAR = 1900, 2999
MAX_YEARS = 10
HEALTH_BUCKETS = 10  # the histogram's bars: 0-9, 10-19, ... 90-100


@dataclass(frozen=True)
class Filters:
    first: date
    last: date
    segment: str
    owner: str
    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)

    def args(self) -> dict[str, str]:
        return {key: value for key, value in self.values.items() if value}


def quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def quick_ranges(today: date) -> list[tuple[str, date, date]]:
    """(label, first, last) of the period shortcuts."""
    month = today.replace(day=1)
    last_month_end = month - timedelta(days=1)
    quarter = quarter_start(today)
    last_quarter_end = quarter - timedelta(days=1)
    return [
        (_("This month"), month, today),
        (_("Last month"), last_month_end.replace(day=1), last_month_end),
        (_("This quarter"), quarter, today),
        (_("Last quarter"), quarter_start(last_quarter_end), last_quarter_end),
        (_("Year to date"), date(today.year, 1, 1), today),
    ]


def _day(values: dict[str, str], name: str, label: str, errors: dict[str, str]) -> date | None:
    text = values.get(name, "")
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        errors[name] = _("%(field)s: “%(value)s” is not a date (YYYY-MM-DD).", field=label, value=text)
        return None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        errors[name] = _(
            "%(field)s: %(value)s is outside the years %(first)s–%(last)s.",
            field=label,
            value=text,
            first=FIRST_YEAR,
            last=LAST_YEAR,
        )
        return None
    return day


def parse_filters(args: Mapping[str, str], today: date, owners: list[str]) -> Filters:
    """The filter form; without dates, this quarter to date."""
    values = {name: args.get(name, "").strip() for name in ("from", "to", "segment", "owner")}
    errors: dict[str, str] = {}
    first = _day(values, "from", _("From"), errors) or quarter_start(today)
    last = _day(values, "to", _("To"), errors) or today
    if "from" in errors or "to" in errors:
        pass  # a date that is not one says so; comparing it would add a second, misleading message
    elif last < first:
        errors["to"] = _("To: %(to)s is before From (%(from_)s).", to=last.isoformat(), from_=first.isoformat())
    elif last.year * 12 + last.month - first.year * 12 - first.month >= 12 * MAX_YEARS:
        errors["to"] = _("To: a period covers at most %(years)s years.", years=MAX_YEARS)
    if values["segment"] and values["segment"] not in SEGMENTS:
        errors["segment"] = _("Segment: “%(value)s” is not a segment.", value=values["segment"])
    if values["owner"] and values["owner"] not in owners:
        errors["owner"] = _("Owner: “%(value)s” owns no customer.", value=values["owner"])
    values["from"], values["to"] = first.isoformat(), last.isoformat()
    return Filters(first, last, values["segment"], values["owner"], values, errors)


def owners(session: Session) -> list[str]:
    """The CSM owners of customers, by name."""
    query = select(Customer.csm_owner).where(Customer.csm_owner.is_not(None)).distinct().order_by(Customer.csm_owner)
    return [name for name in session.execute(query).scalars() if name]


def _customers(query: Any, filters: Filters) -> Any:
    query = query.where(Customer.archived_at.is_(None), Customer.purged_at.is_(None))
    if filters.segment:
        query = query.where(Customer.segment == filters.segment)
    if filters.owner:
        query = query.where(Customer.csm_owner == filters.owner)
    return query


def health_distribution(session: Session, filters: Filters) -> tuple[dict[str, int], list[int]]:
    """Customers per band and per 10-point bucket of their current health score."""
    bands = dict(
        session.execute(
            _customers(select(Customer.health_band, func.count()), filters)
            .where(Customer.health_band.is_not(None))
            .group_by(Customer.health_band)
        ).all()
    )
    # 0-9 → 0, …, 90-100 → 9 (a score of 100 joins the top bar); portable SQL (no two-argument MIN/LEAST)
    tenth = cast(func.floor(Customer.health_score / 10), Integer)
    bucket = case((Customer.health_score >= 10 * (HEALTH_BUCKETS - 1), HEALTH_BUCKETS - 1), else_=tenth)
    counts = dict(
        session.execute(
            _customers(select(bucket, func.count()), filters).where(Customer.health_score.is_not(None)).group_by(bucket)
        ).all()
    )
    return bands, [int(counts.get(i, 0)) for i in range(HEALTH_BUCKETS)]


def at_risk(session: Session, filters: Filters) -> list[Customer]:
    query = _customers(select(Customer), filters).where(Customer.health_band.in_(("at_risk", "watch")))
    # the lowest score first; a band without a score (set by hand) last, on every database
    query = query.order_by(Customer.health_score.asc().nulls_last(), Customer.id).limit(AT_RISK_ROWS)
    return list(session.execute(query).scalars())


# -- formatting --------------------------------------------------------------------------------------------------
RATES = {"logo_churn", "retention", "grr", "nrr", "csat", "fcr", "repeat_ticket_rate"}
MONEY = {"mrr_start", "mrr_end", "mrr_prev_month", "mrr_prev_quarter", "mrr_prev_year", "arpa", "ltv"}


def shown(key: str, value: Any) -> str:
    """A figure as the page shows it, in the page's language; an undefined one is a dash."""
    if value is None:
        return "–"
    if key in RATES:
        return str(format_percent(value, "#,##0.0%"))
    if key in MONEY:
        return str(format_decimal(value, "#,##0"))
    if key == "nps":  # a score on −100..100: the sign says which side of zero, zero has none
        return str(format_decimal(value, "+#,##0.0;-#,##0.0" if value else "0.0"))
    return str(format_decimal(value, "#,##0.##"))


ANSWERS = {"nps": "nps_answers", "csat": "csat_answers", "ces": "ces_answers"}


def cards(figures: kpis.CsKpis) -> list[dict[str, Any]]:
    """One card per figure of ``FORMULAS``; the survey scores also say how many answers they rest on."""
    values = figures.as_json()
    return [
        {
            "key": key,
            "label": str(KPI_LABELS[key]),
            "value": shown(key, values.get(key)),
            "formula": str(formula),
            "answers": values.get(ANSWERS[key]) if key in ANSWERS else None,
        }
        for key, formula in FORMULAS.items()
    ]


def health_labels() -> list[str]:
    """The histogram's buckets: 0–9, 10–19, …, 90–100 (a score of 100 joins the top bar)."""
    return [f"{10 * i}–{10 * i + 9 if i < HEALTH_BUCKETS - 1 else 100}" for i in range(HEALTH_BUCKETS)]


def empty_charts(series: list[dict[str, Any]], buckets: list[int]) -> dict[str, bool]:
    """The charts with nothing to draw, which the page replaces by a sentence."""

    def blank(key: str) -> bool:
        return all(point[key] is None for point in series)

    return {
        "mrr": all(not point["mrr_end"] for point in series),
        "nps": blank("nps"),
        "churn": blank("logo_churn"),
        "health": not any(buckets),
    }


def charts(series: list[dict[str, Any]], bands: dict[str, int], buckets: list[int]) -> dict[str, dict[str, Any]]:
    months = [point["month"] for point in series]
    mrr = line_chart(months, [point["mrr_end"] for point in series], _("MRR at month end"))
    nps_values = [point["nps"] for point in series]
    churn = [None if point["logo_churn"] is None else round(100 * point["logo_churn"], 1) for point in series]
    health = bar_chart(health_labels(), buckets, _("customers"), precision=0)
    return {
        "mrr": mrr,
        "nps": bar_chart(months, nps_values, _("NPS")),
        "churn": bar_chart(months, churn, _("logo churn (%)")),
        "health": health,
        "bands": bar_chart(
            [str(BAND_LABELS[b]) for b in ("healthy", "watch", "at_risk")],
            [bands.get(b, 0) for b in ("healthy", "watch", "at_risk")],
            _("customers"),
            precision=0,
        ),
    }


def line_chart(labels: list[str], values: list[Any], label: str) -> dict[str, Any]:
    config = bar_chart(labels, values, label)
    config["type"] = "line"
    config["data"]["datasets"][0].update({"borderColor": BRAND, "fill": False, "tension": 0.2})
    return config


# -- pages -------------------------------------------------------------------------------------------------------
def _gather(session: Session, filters: Filters) -> dict[str, Any]:
    config = runtime().config
    segment, owner = filters.segment or None, filters.owner or None
    figures = kpis.cs_kpis(session, first=filters.first, last=filters.last, segment=segment, owner=owner, config=config)
    series = kpis.monthly_series(
        session, first=filters.first, last=filters.last, segment=segment, owner=owner, config=config
    )
    bands, buckets = health_distribution(session, filters)
    return {"figures": figures, "series": series, "bands": bands, "buckets": buckets}


@bp.get("/")
@requires(*KPIS)
def index() -> ResponseReturnValue:
    today = runtime().clock.now().date()
    with read_session() as session:
        known_owners = owners(session)
        filters = parse_filters(request.args, today, known_owners)
        page: dict[str, Any] = {
            "filters": filters,
            "owners": known_owners,
            "segments": SEGMENT_LABELS,
            "ranges": quick_ranges(today),
        }
        if filters.errors:
            return render_template("dashboard/index.html", **page), 422
        found = _gather(session, filters)
        risky = at_risk(session, filters)
    return render_template(
        "dashboard/index.html",
        **page,
        cards=cards(found["figures"]),
        charts=charts(found["series"], found["bands"], found["buckets"]),
        empty=empty_charts(found["series"], found["buckets"]),
        bands=found["bands"],
        at_risk=risky,
        band_labels=BAND_LABELS,
        segment_labels=SEGMENT_LABELS,
        shown=shown,
    )


@bp.get("/export.csv")
@requires(*KPIS)
def export() -> ResponseReturnValue:
    """The figures and monthly series of the page, as shown, for the same filters."""
    today = runtime().clock.now().date()
    with read_session() as session:
        filters = parse_filters(request.args, today, owners(session))
        if filters.errors:
            return Response("; ".join(filters.errors.values()), status=422, mimetype="text/plain")
        found = _gather(session, filters)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "key", "label", "value", "formula"])
    period = f"{filters.first.isoformat()}..{filters.last.isoformat()}"
    writer.writerow(["filters", "period", _("Period"), period, ""])
    writer.writerow(["filters", "segment", _("Segment"), filters.segment, ""])
    writer.writerow(["filters", "owner", _("Owner"), filters.owner, ""])
    values = found["figures"].as_json()
    for key, formula in FORMULAS.items():
        writer.writerow(["kpi", key, str(KPI_LABELS[key]), "" if values.get(key) is None else values[key], formula])
    for point in found["series"]:
        for key in ("mrr_end", "customers_end", "nps", "csat", "logo_churn"):
            value = point.get(key)
            writer.writerow(["month", f"{point['month']}:{key}", "", "" if value is None else value, ""])
    name = f"cs-kpis-{filters.first.isoformat()}-{filters.last.isoformat()}.csv"
    return Response(
        out.getvalue(), mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
