"""Keyset reads of the inbox's default order, so a page costs the same at any history size and backlog.

The default order "overdue first, then due date, no due date last, higher priority first, oldest first" is the
key (due_at ascending with NULL last, priority descending, id ascending). SQLite sorts NULL first and PostgreSQL
last, so every walk reads two index ranges in turn, the dated rows and then the undated ones, each ordered
``due_at, priority DESC, id`` as the partial indexes ``ix_human_task_inbox_*`` and ``ix_open_task_group_order``
hold them: the database stops after the rows asked for instead of sorting every open task. A walk goes forward
from a key (next page) or backward (previous page, last page). Counts stop at ``COUNT_CAP`` + 1 rows.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session

COUNT_CAP = 1000  # counts stop above this many rows; the page says "1,000+"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)
_INT32 = 2**31


class Key(NamedTuple):
    """A task's place in the default order."""

    due_at: datetime | None
    priority: int
    id: int

    def sort_value(self) -> tuple[bool, datetime, int, int]:
        """The key as Python orders it (no due date last, then priority descending)."""
        return (self.due_at is None, self.due_at or _EPOCH, -self.priority, self.id)

    def cursor(self) -> str:
        """The key in a URL: due date in microseconds since 1970 ("n" for none), priority, id."""
        due = "n" if self.due_at is None else str((self.due_at - _EPOCH) // _MICRO)
        return f"{due}.{self.priority}.{self.id}"

    @classmethod
    def from_cursor(cls, text: str) -> Key | None:
        """The key a ``cursor()`` wrote, or None for anything else."""
        parts = text.split(".")
        if len(parts) != 3:
            return None
        try:
            due = None if parts[0] == "n" else _EPOCH + int(parts[0]) * _MICRO
            priority, task_pk = int(parts[1]), int(parts[2])
        except (ValueError, OverflowError):
            return None
        if not (-_INT32 <= priority < _INT32 and 0 <= task_pk < _INT32):  # what the integer columns hold
            return None
        return cls(due, priority, task_pk)


@dataclass(frozen=True)
class KeyColumns:
    """The three columns of the key in one source table."""

    due_at: Any
    priority: Any
    id: Any

    @property
    def columns(self) -> tuple[Any, Any, Any]:
        return (self.due_at, self.priority, self.id)

    def order(self, forward: bool) -> list[Any]:
        if forward:
            return [self.due_at.asc(), self.priority.desc(), self.id.asc()]
        return [self.due_at.desc(), self.priority.asc(), self.id.desc()]

    def beyond(self, key: Key, forward: bool) -> ColumnElement[bool]:
        """Rows strictly after ``key`` in the walking direction, within the key's own range (dated or not). The
        redundant bound on the leading column lets the database start the index range at the key."""
        after_tie = or_(
            self.priority < key.priority if forward else self.priority > key.priority,
            and_(self.priority == key.priority, self.id > key.id if forward else self.id < key.id),
        )
        if key.due_at is None:
            lead = self.priority <= key.priority if forward else self.priority >= key.priority
            return and_(lead, after_tie)
        strictly = self.due_at > key.due_at if forward else self.due_at < key.due_at
        lead = self.due_at >= key.due_at if forward else self.due_at <= key.due_at
        return and_(lead, or_(strictly, and_(self.due_at == key.due_at, after_tie)))


def walk(
    session: Session, base: Select[Any], cols: KeyColumns, limit: int, *, forward: bool = True, start: Key | None = None
) -> list[Key]:
    """Up to ``limit`` keys of ``base`` (a select of the three key columns) in the default order, or in reverse,
    strictly after ``start`` in that direction."""
    ranges = [True, False] if forward else [False, True]  # True: the dated rows
    if start is not None:
        ranges = ranges[ranges.index(start.due_at is not None) :]
    keys: list[Key] = []
    for dated in ranges:
        where = [cols.due_at.is_not(None) if dated else cols.due_at.is_(None)]
        if start is not None and (start.due_at is not None) == dated:
            where.append(cols.beyond(start, forward))
        query = base.where(*where).order_by(*cols.order(forward)).limit(limit - len(keys))
        keys.extend(Key(*row) for row in session.execute(query))
        if len(keys) >= limit:
            break
    return keys


def merge(streams: Iterable[Sequence[Key]], limit: int, *, forward: bool = True) -> list[Key]:
    """The first ``limit`` distinct keys of several ordered walks (a task in two groups comes once)."""
    merged = heapq.merge(*streams, key=Key.sort_value, reverse=not forward)
    keys: list[Key] = []
    seen: set[int] = set()
    for key in merged:
        if key.id not in seen:
            seen.add(key.id)
            keys.append(key)
            if len(keys) == limit:
                break
    return keys


def capped_count(session: Session, base: Select[Any], cols: KeyColumns) -> int:
    """How many rows ``base`` selects, counting at most ``COUNT_CAP`` + 1. Read in the index's order: without
    it SQLite's planner may scan the whole table to count the first rows (it judges a LIMIT cheap)."""
    limited = base.order_by(*cols.order(True)).limit(COUNT_CAP + 1).subquery()
    return int(session.execute(select(func.count()).select_from(limited)).scalar_one())


def capped_distinct(session: Session, sources: Iterable[tuple[Select[Any], KeyColumns]]) -> int:
    """How many distinct ids several selects of keys hold together, reading at most ``COUNT_CAP`` + 1 of each."""
    ids: set[int] = set()
    for base, cols in sources:
        ids.update(row[2] for row in session.execute(base.order_by(*cols.order(True)).limit(COUNT_CAP + 1)))
        if len(ids) > COUNT_CAP:
            break
    return min(len(ids), COUNT_CAP + 1)
