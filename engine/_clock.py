"""Clocks. Every engine operation asks its clock for "now"; tests inject a FrozenClock and never sleep.

SpiffWorkflow's timers read ``datetime.now(timezone.utc)`` in their own module; ``engine_clock`` points that
module at the clock of the operation in progress (a context variable, so threads do not see each other's).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Protocol

from SpiffWorkflow.bpmn.specs.event_definitions import timer as _spiff_timer


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        with self._lock:
            self._now = moment

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        with self._lock:
            self._now = self._now + (delta or timedelta(**kwargs))
            return self._now


_current: ContextVar[Clock | None] = ContextVar("jornada_clock", default=None)


class _ClockedDatetime(datetime):
    """Stands in for ``datetime`` inside SpiffWorkflow's timer module."""

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
        clock = _current.get()
        moment = clock.now() if clock is not None else datetime.now(UTC)
        return moment.astimezone(tz) if tz is not None else moment.astimezone().replace(tzinfo=None)


_spiff_timer.datetime = _ClockedDatetime


class TickAhead:
    """``clock`` plus one microsecond. SpiffWorkflow fires a timer when due < now; the scheduler runs the
    library on this clock so that a timer fires at its due moment (due <= now), as the timer table promises."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def now(self) -> datetime:
        return self.clock.now() + timedelta(microseconds=1)


@contextlib.contextmanager
def engine_clock(clock: Clock) -> Iterator[None]:
    """Make SpiffWorkflow's timers use ``clock`` for the duration of the block."""
    token = _current.set(clock)
    try:
        yield
    finally:
        _current.reset(token)
