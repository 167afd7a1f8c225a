"""The engine's one reader of ISO-8601 durations (P3D, PT4H, P1M): SLA properties, timer literals at deploy time
and ``duration()`` in author code all go through :func:`parse_duration`.

BPMN timers are measured at run time by SpiffWorkflow's own parser, so this module delegates to that parser
instead of repeating its grammar: whatever a timer accepts when it runs, the lint and the sandbox accept too,
and nothing more. Months and years are calendar-aware, which is why a duration is read *from a start moment*
(P1M from 31 January is 28 or 29 days).
"""

from __future__ import annotations

from datetime import date, timedelta

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition


class DurationError(ValueError):
    """The text is not a duration SpiffWorkflow's timers accept."""


def parse_duration(text: str, start: date) -> timedelta:
    """``P2D`` from ``start`` -> timedelta(days=2); raises DurationError naming the text when invalid."""
    value = text.strip() if isinstance(text, str) else ""
    if not value.upper().startswith("P"):
        raise DurationError(f"{text!r} is not an ISO-8601 duration such as P2D or PT4H")
    try:
        parts = TimerEventDefinition.parse_iso_duration(value)
        delta: timedelta = TimerEventDefinition.get_timedelta_from_start(parts, start)
    except Exception as exc:  # the library raises a bare Exception('Invalid duration')
        raise DurationError(f"{text!r} is not an ISO-8601 duration such as P2D or PT4H") from exc
    return delta
