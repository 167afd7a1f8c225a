"""How customer figures read on the pages: money and numbers in the page's locale, and the Chart.js configs of the
MRR and health histories (plain JSON in a data attribute; the bundled script draws them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import format_currency, format_date, format_decimal
from flask_babel import gettext as _

from processes.customers import MrrMovement

BRAND = "#0f5e9c"
RED = "#a4161a"


def money(amount: float | None, currency: str | None) -> str:
    if amount is None:
        return "—"
    try:
        return str(format_currency(amount, currency or "USD"))
    except (ValueError, KeyError):  # an unknown currency code still reads as a number
        return f"{format_decimal(amount, format='#,##0.00')} {currency}"


def score(value: float | None) -> str:
    return "—" if value is None else str(format_decimal(round(value), format="#,##0"))


def day(value: Any) -> str:
    return "—" if value is None else str(format_date(value, "medium"))


def hours(value: float | None) -> str:
    return "—" if value is None else _("%(hours)s h", hours=format_decimal(round(value, 1), format="#,##0.0"))


def change(value: Any) -> str:
    """One side of an audited change as one line: ``key: value`` pairs (empty values left out), or the value."""
    if isinstance(value, dict):
        return (
            ", ".join(f"{key}: {change(item)}" for key, item in sorted(value.items()) if item not in (None, "")) or "—"
        )
    if isinstance(value, list | tuple):
        return ", ".join(change(item) for item in value) or "—"
    return "—" if value in (None, "") else str(value)


def _line(labels: list[str], values: list[float], label: str, colour: str, **axis: Any) -> dict[str, Any]:
    return {
        "type": "line",
        "data": {
            "labels": labels,
            "datasets": [
                {
                    "label": label,
                    "data": values,
                    "borderColor": colour,
                    "backgroundColor": colour,
                    "pointRadius": 3,
                    "stepped": axis.pop("stepped", False),
                }
            ],
        },
        "options": {
            "animation": False,
            "responsive": True,
            "maintainAspectRatio": False,
            "plugins": {"legend": {"display": False}},
            "scales": {"y": {"title": {"display": True, "text": label}, **axis}},
        },
    }


def mrr_chart(movements: list[MrrMovement], current: float, currency: str, now: datetime) -> dict[str, Any]:
    """MRR after each movement, stepped, ending with today's value."""
    labels = [day(m.at) for m in movements] + [day(now)]
    values = [round(m.new_mrr, 2) for m in movements] + [round(current, 2)]
    return _line(labels, values, _("MRR (%(currency)s)", currency=currency), BRAND, stepped=True, beginAtZero=True)


def health_chart(history: list[tuple[datetime, float]]) -> dict[str, Any]:
    labels = [day(at) for at, _score in history]
    values = [round(value, 1) for _at, value in history]
    return _line(labels, values, _("Health score (0–100)"), RED, min=0, max=100)
