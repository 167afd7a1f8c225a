"""How a task's timing reads on a page: the SLA badge (colour, text, exact due moment) and its age. Times are
measured against the runtime's clock, never the wall clock, so tests can move time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask_babel import format_datetime, format_timedelta
from flask_babel import gettext as _

from web.inbox_query import sla_state


@dataclass(frozen=True)
class Badge:
    state: str  # red yellow green grey
    text: str
    title: str


def moment(at: datetime | None) -> str:
    return f"{format_datetime(at, 'yyyy-MM-dd HH:mm')} UTC" if at is not None else "—"


def span(seconds: float) -> str:
    return str(format_timedelta(timedelta(seconds=abs(seconds)), granularity="minute", threshold=1))


def sla_badge(task: Any, now: datetime) -> Badge:
    state = sla_state(task, now)
    due = task.due_at
    title = _("Due %(at)s", at=moment(due)) if due is not None else _("This step has no due date.")
    if due is None:
        text = _("Behind schedule") if state in ("red", "yellow") else _("No due date")
    elif due <= now:
        text = _("Overdue by %(time)s", time=span((now - due).total_seconds()))
    elif state == "red":
        text = _("Stuck; due in %(time)s", time=span((due - now).total_seconds()))
    else:
        text = _("Due in %(time)s", time=span((due - now).total_seconds()))
    return Badge(state, text, title)


def age(created_at: datetime, now: datetime) -> str:
    return span(max(0.0, (now - created_at).total_seconds()))
