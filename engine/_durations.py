"""ISO-8601 durations (P3D, PT4H, P1M) as used by SLA properties; calendar-aware from a start moment."""

from __future__ import annotations

from datetime import datetime, timedelta

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition


class DurationError(ValueError):
    pass


def parse_duration(text: str, start: datetime) -> timedelta:
    """``P2D`` from ``start`` -> timedelta(days=2); raises DurationError naming the text when invalid."""
    value = (text or "").strip()
    if not value.upper().startswith("P"):
        raise DurationError(f"{text!r} is not an ISO-8601 duration such as P2D or PT4H")
    try:
        delta: timedelta = TimerEventDefinition.get_timedelta_from_start(
            TimerEventDefinition.parse_iso_duration(value), start
        )
    except Exception as exc:  # the library raises a bare Exception('Invalid duration')
        raise DurationError(f"{text!r} is not an ISO-8601 duration such as P2D or PT4H") from exc
    return delta
