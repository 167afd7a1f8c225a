"""Task timing KPIs. wait = claimed - created; work = completed - claimed; cycle = completed - created;
SLA met = completed <= due. Per step: count, median and p90 of each, SLA compliance."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, select
from sqlalchemy.orm import Session

from engine._dml import Prepared
from engine._enums import OPEN_TASK_STATES
from engine.models import HumanTask, TaskKpi, core

FORMULAS = {
    "wait": "claimed − created",
    "work": "completed − claimed",
    "cycle": "completed − created",
    "sla": "share of tasks with completed ≤ due",
}


INSERT_KPI = Prepared(core(TaskKpi).insert())  # built once: it runs on every task completion


def record(session: Session | Connection, task: Mapping[str, Any]) -> None:
    """Insert the KPI row of a human task that has just been completed (``task``: its row's values)."""
    created, claimed, completed = task["created_at"], task["claimed_at"], task["completed_at"]
    due, warn, stuck = task["due_at"], task["warn_at"], task["stuck_at"]
    values = {
        "human_task_id": task["id"],
        "instance_id": task["instance_id"],
        "process_id": task["process_id"],
        "element_id": task["element_id"],
        "name": task["name"],
        "completed_by": task["completed_by"],
        "created_at": created,
        "claimed_at": claimed,
        "completed_at": completed,
        "due_at": due,
        "wait_seconds": (claimed - created).total_seconds(),
        "work_seconds": (completed - claimed).total_seconds(),
        "cycle_seconds": (completed - created).total_seconds(),
        "sla_met": None if due is None else completed <= due,
        "warn_reached": warn is not None and completed >= warn,
        "stuck_reached": stuck is not None and completed >= stuck,
    }
    INSERT_KPI.run(session if isinstance(session, Connection) else session.connection(), values)


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


@dataclass(frozen=True)
class StepStats:
    process_id: str
    element_id: str
    name: str
    count: int
    wait_median: float
    wait_p90: float
    work_median: float
    work_p90: float
    cycle_median: float
    cycle_p90: float
    sla_percent: float | None


def _completed_in(process_id: str | None, since: datetime | None, until: datetime | None) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if process_id:
        found.append(TaskKpi.process_id == process_id)
    if since is not None:
        found.append(TaskKpi.completed_at >= since)
    if until is not None:
        found.append(TaskKpi.completed_at < until)
    return found


def step_stats(
    session: Session,
    process_id: str | None = None,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[StepStats]:
    """Per step, over the tasks completed in [since, until) (either bound may be left open)."""
    query = select(TaskKpi).where(*_completed_in(process_id, since, until))
    groups: dict[tuple[str, str], list[TaskKpi]] = {}
    for row in session.execute(query).scalars():
        groups.setdefault((row.process_id, row.element_id), []).append(row)
    result = []
    for (process, element), rows in sorted(groups.items()):
        judged = [r.sla_met for r in rows if r.sla_met is not None]
        wait = [r.wait_seconds for r in rows]
        work = [r.work_seconds for r in rows]
        cycle = [r.cycle_seconds for r in rows]
        result.append(
            StepStats(
                process,
                element,
                rows[0].name,
                len(rows),
                median(wait),
                percentile(wait, 90),
                median(work),
                percentile(work, 90),
                median(cycle),
                percentile(cycle, 90),
                100.0 * sum(judged) / len(judged) if judged else None,
            )
        )
    return result


def completion_times(
    session: Session,
    process_id: str | None = None,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[datetime]:
    """When each task completed in [since, until) did, oldest first (throughput = completions per day)."""
    query = select(TaskKpi.completed_at).where(*_completed_in(process_id, since, until))
    return list(session.execute(query.order_by(TaskKpi.completed_at)).scalars())


def work_in_progress(session: Session, process_id: str | None = None) -> dict[tuple[str, str], tuple[str, int]]:
    """Open human tasks now, per step: (process id, element id) → (step name, count)."""
    query = select(HumanTask.process_id, HumanTask.element_id, func.min(HumanTask.name), func.count()).where(
        HumanTask.state.in_(OPEN_TASK_STATES)
    )
    if process_id:
        query = query.where(HumanTask.process_id == process_id)
    rows = session.execute(query.group_by(HumanTask.process_id, HumanTask.element_id))
    return {(process, element): (name, n) for process, element, name, n in rows}


def human(seconds: float) -> str:
    """3d4h, 2h05m, 45s: short and readable."""
    whole = round(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"
