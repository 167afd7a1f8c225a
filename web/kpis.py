"""KPIs and alerts (leads, admins, auditors; only leads and admins acknowledge): step timing per process step with
the formula beside every figure, throughput and cycle-time charts, a heat map of median step duration over the
process diagram, and the list of stuck-step alerts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session

from engine import (
    EngineError,
    StepStats,
    completion_times,
    human_duration,
    latest_definition,
    step_stats,
    work_in_progress,
)
from engine.models import Alert, HumanTask, HumanTaskGroup
from processes.customers import Customer
from web.accounts.permissions import KPIS, LEADS, requires
from web.audit import day_field
from web.context import me, read_session, runtime
from web.inbox.names import distinct_names
from web.inbox.query import process_names
from web.model_text import translate
from web.params import id_list

bp = Blueprint("kpis", __name__)

DEFAULT_DAYS = 30
WEEKLY_AFTER_DAYS = 62
BRAND = "#0f5e9c"


# -- the period ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Period:
    """Completions from ``first`` (None: from the first one there is) to ``last``, both days inclusive, UTC."""

    first: date | None
    last: date
    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def since(self) -> datetime | None:
        return datetime.combine(self.first, time(), UTC) if self.first else None

    @property
    def until(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(), UTC)


def quick_ranges(today: date) -> list[tuple[str, str, str]]:
    """(label, from, to) of the period shortcuts above the figures."""
    ranges = [(_("Last %(n)s days", n=n), (today - timedelta(days=n - 1)).isoformat()) for n in (7, 30, 90)]
    return [*((label, first, today.isoformat()) for label, first in ranges), (_("All time"), "", today.isoformat())]


def parse_period(args: Mapping[str, str], today: date) -> Period:
    """The period of the filter form; with neither date given at all, the last DEFAULT_DAYS days."""
    if "from" not in args and "to" not in args:
        start = today - timedelta(days=DEFAULT_DAYS - 1)
        return Period(start, today, {"from": start.isoformat(), "to": today.isoformat()})
    values = {name: args.get(name, "").strip() for name in ("from", "to")}
    errors: dict[str, str] = {}
    first = day_field(values, "from", _("From"), errors)
    last = day_field(values, "to", _("To"), errors) or today
    if first is not None and last < first:
        errors["to"] = _("To: %(to)s is before From (%(from_)s).", to=last.isoformat(), from_=first.isoformat())
    return Period(first, last, values, errors)


# -- figures ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StepRow:
    process_id: str
    element_id: str
    name: str
    stats: StepStats | None  # None: nothing completed in the period
    wip: int
    per_day: float


def step_rows(session: Session, process_id: str | None, period: Period, days: int) -> list[StepRow]:
    stats = step_stats(session, process_id, since=period.since, until=period.until)
    wip = work_in_progress(session, process_id)
    rows = [
        StepRow(
            s.process_id,
            s.element_id,
            translate(s.name),
            s,
            wip.pop((s.process_id, s.element_id), ("", 0))[1],
            s.count / days,
        )
        for s in stats
    ]
    return rows + [StepRow(p, e, translate(name), None, n, 0.0) for (p, e), (name, n) in sorted(wip.items())]


def throughput_chart(completions: list[datetime], start: date, last: date) -> dict[str, Any]:
    """Completed tasks per day over [start, last], per week (starting Mondays) when the period is long."""
    weekly = (last - start).days + 1 > WEEKLY_AFTER_DAYS

    def bucket(day: date) -> date:
        return day - timedelta(days=day.weekday()) if weekly else day

    counts = Counter(bucket(moment.date()) for moment in completions)
    labels, day = [], bucket(start)
    while day <= last:
        labels.append(day)
        day += timedelta(days=7 if weekly else 1)
    label = _("completed per week") if weekly else _("completed per day")
    return bar_chart([d.isoformat() for d in labels], [counts.get(d, 0) for d in labels], label, precision=0)


def cycle_chart(rows: list[StepRow], several_processes: bool) -> dict[str, Any]:
    timed = [r for r in rows if r.stats]
    labels = [f"{r.name} ({r.process_id})" if several_processes else r.name for r in timed]
    hours = [round(r.stats.cycle_median / 3600, 2) for r in timed if r.stats]
    return bar_chart(labels, hours, _("median cycle time (hours)"), horizontal=True)


def bar_chart(
    labels: list[str],
    values: Sequence[float | None],
    label: str,
    *,
    horizontal: bool = False,
    precision: int | None = None,
) -> dict[str, Any]:
    """A Chart.js bar chart config (plain JSON: the bundle draws it)."""
    value_axis: dict[str, Any] = {"beginAtZero": True, "title": {"display": True, "text": label}}
    if precision is not None:
        value_axis["ticks"] = {"precision": precision}
    return {
        "type": "bar",
        "data": {"labels": labels, "datasets": [{"label": label, "data": values, "backgroundColor": BRAND}]},
        "options": {
            "indexAxis": "y" if horizontal else "x",
            "animation": False,
            "responsive": True,
            "maintainAspectRatio": False,
            "plugins": {"legend": {"display": False}},
            "scales": {"x" if horizontal else "y": value_axis},
        },
    }


def busiest_process(rows: list[StepRow]) -> str:
    """The process with the most completions among ``rows`` ("" when nothing was completed)."""
    totals: Counter[str] = Counter()
    for r in rows:
        if r.stats:
            totals[r.process_id] += r.stats.count
    return totals.most_common(1)[0][0] if totals else ""


def processes(session: Session) -> dict[str, str]:
    """Deployed process ids → the name of their latest version, by id."""
    return dict(sorted(process_names(session).items()))


def open_alert_count(session: Session) -> int:
    """Alerts neither acknowledged nor resolved (their task still open)."""
    return session.execute(select(func.count()).select_from(Alert).where(*ALERT_STATUSES["open"])).scalar_one()


# -- the alert list ------------------------------------------------------------------------------------------------
ALERT_LEVELS = ("behind", "stuck")
# status → the condition: open = neither acknowledged nor resolved; acknowledged = acknowledged, task still open
ALERT_STATUSES: dict[str, tuple[ColumnElement[bool], ...]] = {
    "open": (Alert.acknowledged_at.is_(None), Alert.resolved_at.is_(None)),
    "acknowledged": (Alert.acknowledged_at.is_not(None), Alert.resolved_at.is_(None)),
    "resolved": (Alert.resolved_at.is_not(None),),
    "all": (),
}
ALERT_FILTERS = ("level", "status", "process", "customer", "group")
CUSTOMER_TEXT_MAX = 100
ALERT_ROWS = 500  # the newest ones; the page says when there are more


@dataclass(frozen=True)
class AlertFilters:
    """The alert list's filters as given (status defaults to open) and the problems with them, by field."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)

    def args(self, **changes: str) -> dict[str, str]:
        """The filters as query arguments (the blank ones left out), with ``changes``."""
        return {key: value for key, value in {**self.values, **changes}.items() if value}


def parse_alert_filters(args: Mapping[str, str], known_processes: Mapping[str, str], groups: list[str]) -> AlertFilters:
    values = {name: args.get(name, "").strip() for name in ALERT_FILTERS}
    values["status"] = values["status"] or "open"
    errors: dict[str, str] = {}
    level, status, process_id, group = values["level"], values["status"], values["process"], values["group"]
    if level and level not in ALERT_LEVELS:
        errors["level"] = _("Level: “%(value)s” is not behind or stuck.", value=level)
    if status not in ALERT_STATUSES:
        errors["status"] = _("Status: “%(value)s” is not a status.", value=status)
    if process_id and process_id not in known_processes:
        errors["process"] = _("Process: “%(value)s” is not a deployed process.", value=process_id)
    if group and group not in groups:
        errors["group"] = _("Group: “%(value)s” is not a group of any task.", value=group)
    if len(values["customer"]) > CUSTOMER_TEXT_MAX:
        errors["customer"] = _("Customer: at most %(n)s characters.", n=CUSTOMER_TEXT_MAX)
    return AlertFilters(values, errors)


def task_groups(session: Session) -> list[str]:
    """Every candidate group of a task, open or closed (the alerts' filter reads history), by name: one index
    probe per group name."""
    return distinct_names(session, HumanTaskGroup.group_name)


def alert_query(filters: AlertFilters) -> Select[Alert, HumanTask, str]:
    """The alerts the filters keep, newest first, with their task and customer name (one more than a page)."""
    values = filters.values
    query = (
        select(Alert, HumanTask, Customer.name)
        .join(HumanTask, HumanTask.id == Alert.human_task_id)
        .outerjoin(Customer, Customer.id == HumanTask.customer_id)
        .where(*ALERT_STATUSES[values["status"]])
    )
    if values["level"]:
        query = query.where(Alert.level == values["level"])
    if values["process"]:
        query = query.where(HumanTask.process_id == values["process"])
    if values["group"]:
        in_group = select(HumanTaskGroup.human_task_id).where(HumanTaskGroup.group_name == values["group"])
        query = query.where(HumanTask.id.in_(in_group))
    if values["customer"]:
        text = values["customer"]
        query = query.where(
            or_(HumanTask.customer_id.icontains(text, autoescape=True), Customer.name.icontains(text, autoescape=True))
        )
    return query.order_by(Alert.raised_at.desc(), Alert.id.desc()).limit(ALERT_ROWS + 1)


# -- pages -----------------------------------------------------------------------------------------------------
@bp.get("/")
@requires(*KPIS)
def index() -> ResponseReturnValue:
    now = runtime().clock.now()
    period = parse_period(request.args, now.date())
    with read_session() as session:
        known = processes(session)
        process_id = request.args.get("process", "")
        process_id = process_id if process_id in known else ""
        form = {
            "period": period,
            "processes": known,
            "process_id": process_id,
            "alerts_open": open_alert_count(session),
            "ranges": quick_ranges(now.date()),
        }
        if period.errors:
            return render_template("kpis/index.html", **form), 422
        completions = completion_times(session, process_id or None, since=period.since, until=period.until)
        start = period.first or (completions[0].date() if completions else period.last)
        days = (period.last - start).days + 1
        rows = step_rows(session, process_id or None, period, days)
    heat_id = process_id or busiest_process(rows)
    return render_template(
        "kpis/index.html",
        **form,
        rows=rows,
        human=human_duration,
        start=start,
        days=days,
        completed=len(completions),
        wip=sum(r.wip for r in rows),
        throughput=throughput_chart(completions, start, period.last),
        cycle=cycle_chart(rows, len({r.process_id for r in rows}) > 1),
        heat_process=heat_id,
        heat={r.element_id: r.stats.cycle_median for r in rows if r.stats and r.process_id == heat_id},
    )


@bp.get("/processes/<process_id>/diagram.bpmn")
@requires(*KPIS)
def diagram(process_id: str) -> ResponseReturnValue:
    """The BPMN XML of the latest deployed version of ``process_id`` (for the heat map)."""
    with read_session() as session:
        found = latest_definition(session, process_id)
    if found is None:
        abort(404, _("Process %(id)s is not deployed.", id=process_id))
    return Response(found.bpmn_xml, mimetype="application/xml")


@bp.get("/alerts")
@requires(*KPIS)
def alerts() -> ResponseReturnValue:
    with read_session() as session:
        names = processes(session)
        groups = task_groups(session)
        filters = parse_alert_filters(request.args, names, groups)
        found = [] if filters.errors else list(session.execute(alert_query(filters)).all())
        alerts_open = open_alert_count(session)
    html = render_template(
        "kpis/alerts.html",
        processes=names,
        groups=groups,
        levels=ALERT_LEVELS,
        statuses=list(ALERT_STATUSES),
        filters=filters,
        alerts=found[:ALERT_ROWS],
        more=len(found) > ALERT_ROWS,
        alerts_open=alerts_open,
        now=runtime().clock.now(),
        human=human_duration,
        may_acknowledge=me().has(*LEADS),
        customer_pages="customers.show" in current_app.view_functions,
    )
    return html, 422 if filters.errors else 200


def _acknowledge(alert_ids: list[int]) -> None:
    done = 0
    for alert_id in alert_ids:
        try:
            runtime().acknowledge_alert(alert_id, actor=me().username)
            done += 1
        except EngineError as exc:
            flash(str(exc), "error")
    if done:
        flash(_("%(n)s alert(s) acknowledged.", n=done), "success")


def _back() -> ResponseReturnValue:
    """Back to the alert list with the filters it was showing (sent as hidden fields of the form)."""
    kept = {name: request.form.get(name, "").strip() for name in ALERT_FILTERS}
    args: dict[str, Any] = {name: value for name, value in kept.items() if value}
    return redirect(url_for("kpis.alerts", **args), 303)


@bp.post("/alerts/<int:alert_id>/acknowledge")
@requires(*LEADS)
def acknowledge(alert_id: int) -> ResponseReturnValue:
    _acknowledge([alert_id])
    return _back()


@bp.post("/alerts/acknowledge")
@requires(*LEADS)
def acknowledge_selected() -> ResponseReturnValue:
    chosen = id_list(request.form, "alert")
    if not chosen:
        flash(_("Alerts: tick at least one alert to acknowledge."), "error")
    _acknowledge(chosen)
    return _back()
