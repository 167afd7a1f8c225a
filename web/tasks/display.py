"""How a task reads on a page: the SLA badge (colour, text, exact due moment), its age, and the labels a person
reads instead of the option codes stored in the data. Times are measured against the runtime's clock, never the
wall clock, so tests can move time."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask_babel import format_datetime, format_timedelta
from flask_babel import gettext as _

from engine import Field
from web.inbox.query import sla_state
from web.model_text import translate


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


# -- labels instead of codes ---------------------------------------------------------------------------------
Labels = Mapping[str, Mapping[str, str]]  # field id -> option id -> option label


def option_labels(fields: Iterable[Field]) -> dict[str, dict[str, str]]:
    """The option labels of every enum field in the page's language, by field id (the first field of an id wins
    on a clash)."""
    labels: dict[str, dict[str, str]] = {}
    for f in fields:
        if f.options:
            merged = labels.setdefault(f.id, {})
            for code, label in f.options:
                merged.setdefault(code, translate(label) or code)
    return labels


class Coded(str):
    """An option code that compares and filters as the code but prints as its label in instructions."""

    label: str

    def __new__(cls, code: str, label: str) -> Coded:
        made = super().__new__(cls, code)
        made.label = label
        return made

    def __str__(self) -> str:
        return self.label


class Listed(list[Any]):
    """A list that prints as its items joined by commas (each as its label), not as Python's repr."""

    def __str__(self) -> str:
        return ", ".join(str(item) for item in self)


def _coded(value: Any, options: Mapping[str, str]) -> Any:
    if isinstance(value, list):
        return Listed(_coded(item, options) for item in value)
    if isinstance(value, str) and value in options:
        return Coded(value, options[value])
    return value


def labelled_data(data: Mapping[str, Any], labels: Labels) -> dict[str, Any]:
    """Task data for the instructions: enum codes print as their option labels, lists as comma-joined text."""
    return {key: _coded(value, labels.get(key, {})) for key, value in data.items()}


def answer(value: Any, field: Field | None) -> str:
    """One submitted value as a person reads it: the option label of an enum, Yes/No, lists joined."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, list):
        return ", ".join(answer(item, field) for item in value) or "—"
    if field is not None and field.options:
        return translate(dict(field.options).get(str(value))) or str(value)
    return str(value)
