"""Task timing KPIs. wait = claimed - created; work = completed - claimed; cycle = completed - created;
SLA met = completed <= due. Per step: count, median and p90 of each, SLA compliance."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.models import HumanTask, TaskKpi, core

FORMULAS = {
    "wait": "claimed − created",
    "work": "completed − claimed",
    "cycle": "completed − created",
    "sla": "share of tasks with completed ≤ due",
}


def record(session: Session, row: HumanTask) -> None:
    """Insert the KPI row of a human task that has just been completed."""
    assert row.completed_at is not None and row.claimed_at is not None and row.completed_by is not None
    values = dict(
        human_task_id=row.id,
        instance_id=row.instance_id,
        process_id=row.process_id,
        element_id=row.element_id,
        name=row.name,
        completed_by=row.completed_by,
        created_at=row.created_at,
        claimed_at=row.claimed_at,
        completed_at=row.completed_at,
        due_at=row.due_at,
        wait_seconds=(row.claimed_at - row.created_at).total_seconds(),
        work_seconds=(row.completed_at - row.claimed_at).total_seconds(),
        cycle_seconds=(row.completed_at - row.created_at).total_seconds(),
        sla_met=None if row.due_at is None else row.completed_at <= row.due_at,
        warn_reached=row.warn_at is not None and row.completed_at >= row.warn_at,
        stuck_reached=row.stuck_at is not None and row.completed_at >= row.stuck_at,
    )
    session.connection().execute(core(TaskKpi).insert(), values)


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


def step_stats(session: Session, process_id: str | None = None) -> list[StepStats]:
    query = select(TaskKpi)
    if process_id:
        query = query.where(TaskKpi.process_id == process_id)
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
