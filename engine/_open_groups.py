"""The ``open_task_group`` rows: the candidate groups of the open human tasks only, with the task's sort keys (due
date, priority) and process, so a group queue reads one index range per group however long the history of closed
tasks grows.

Written with the task's ``human_task_group`` rows when the task is created (always open then), deleted in the same
transaction as every UPDATE that moves a task out of the open states (complete, skip, the cancels of a save).
``human_task_group`` keeps every row: KPIs and task access read the groups of closed tasks too. Nothing changes a
task's due date, priority or process but a move to another version (engine/_version_inbox.py), which rewrites
these rows.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import Connection, bindparam, select

from engine._dml import Prepared
from engine.models import HumanTask, OpenTaskGroup, core

_OPEN_GROUP, _TASK = core(OpenTaskGroup), core(HumanTask)
PROCESS_OF = select(_TASK.c.process_id).where(_TASK.c.id == bindparam("b_id"))
INSERT = Prepared(_OPEN_GROUP.insert())
# One row per task and executemany, not an expanding IN list: SQLAlchemy re-renders an expanding statement on
# every execution (about a fifth of a completion's statement cost, bench/engine_throughput.py).
DELETE = Prepared(_OPEN_GROUP.delete().where(_OPEN_GROUP.c.human_task_id == bindparam("b_task")))


def add(
    conn: Connection,
    task_pk: int,
    groups: Collection[str],
    due_at: datetime | None,
    priority: int,
    process_id: str | None = None,
) -> None:
    """The open-group rows of an open task (``process_id`` read from its row when not given)."""
    if process_id is None:
        process_id = conn.execute(PROCESS_OF, {"b_id": task_pk}).scalar_one()
    INSERT.run_many(
        conn,
        [
            {
                "human_task_id": task_pk,
                "group_name": g,
                "due_at": due_at,
                "priority": priority,
                "process_id": process_id,
            }
            for g in groups
        ],
    )


def remove(conn: Connection, task_pks: Collection[int]) -> None:
    """Forget the open-group rows of tasks that just left the open states."""
    DELETE.run_many(conn, [{"b_task": pk} for pk in sorted(task_pks)])
