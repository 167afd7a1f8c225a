"""The scheduler's two reads of due work, each held to an index that holds only work still to do, so a tick costs
the same however many tasks were alerted and timers fired before.

- Alerts: ``ix_human_task_behind_pending`` / ``ix_human_task_stuck_pending`` (engine/models.py) hold the open
  tasks not yet alerted at that level, by moment. The claim's inner query repeats the index's WHERE word for word,
  states as literals (a database uses a partial index only when it can prove the query's WHERE implies the
  index's, which it cannot for bound parameters).
- Timers: ``ix_timer_due_at``, walked in due order; a timer of an instance that cannot run (in incident) is
  skipped by a primary-key probe, never loaded.

On SQLite the table is named with ``INDEXED BY``: without statistics (a database nobody ran ANALYZE on) SQLite
prefers the equality on ``state`` of ``ix_human_task_open_due``, which reads every open task, the alerted backlog
included. ``INDEXED BY`` is SQLite's documented way to pin a time-sensitive query to its index: the statement fails
to prepare if the index is dropped or no longer matches, instead of silently reading the whole table. PostgreSQL
has statistics and picks the small partial index itself (checked with EXPLAIN in
tests/engine/test_scheduler_due_work.py; the plans at 1,000,000 rows: ``bench/scheduler_scale.py --explain``)."""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import BindParameter, TextClause, TextualSelect, bindparam, text

from engine._enums import InstanceStatus
from engine.models import OPEN_TASK_SQL, UTCDateTime

# the instance statuses whose timers fire (not an incident: it waits for a retry)
RUNNABLE_SQL = f"status IN ('{InstanceStatus.RUNNING}', '{InstanceStatus.WAITING}')"

_CLAIM = """
UPDATE human_task{not_indexed} SET {flag} = :b_now
WHERE {claimed} AND {flag} IS NULL AND {open}
RETURNING id, instance_id, task_id, process_id, customer_id, name, candidate_groups, assignee, created_at,
    {moment} AS moment
"""
_CANDIDATES = """
    SELECT pending.id FROM human_task AS pending{indexed}
    WHERE pending.{open} AND pending.{flag} IS NULL AND pending.{moment} <= :b_now
    ORDER BY pending.{moment} LIMIT :b_limit{lock}
"""
# How the UPDATE names the candidates so that it fetches them by primary key: on SQLite ``id IN (...)`` with the
# table NOT INDEXED (its own choice without statistics is the index on ``state``, every open task); on PostgreSQL
# ``id = ANY(ARRAY(...))``, computed once before the scan (``IN (...)`` lets it hash-join the whole partial index).
_CLAIMED = {"sqlite": "id IN ({candidates})", "postgresql": "id = ANY(ARRAY({candidates}))"}

_DUE_TIMERS = """
SELECT timer.instance_id FROM timer{indexed}
WHERE timer.due_at <= :b_now AND EXISTS (
    SELECT 1 FROM process_instance AS instance WHERE instance.id = timer.instance_id AND instance.{runnable}
)
ORDER BY timer.due_at LIMIT :b_limit
"""


def _indexed(dialect: str, index: str) -> str:
    return f" INDEXED BY {index}" if dialect == "sqlite" else ""


def binds() -> tuple[BindParameter[Any], ...]:
    """The parameters of both statements: ``b_now`` (a UTC timestamp) and ``b_limit``."""
    return bindparam("b_now", type_=UTCDateTime()), bindparam("b_limit")


def claim_sql(dialect: str, level: str, moment: str, flag: str) -> str:
    candidates = _CANDIDATES.format(
        flag=flag,
        moment=moment,
        open=OPEN_TASK_SQL,
        indexed=_indexed(dialect, f"ix_human_task_{level}_pending"),
        lock=" FOR UPDATE SKIP LOCKED" if dialect == "postgresql" else "",
    )
    return _CLAIM.format(
        flag=flag,
        moment=moment,
        open=OPEN_TASK_SQL,
        not_indexed=" NOT INDEXED" if dialect == "sqlite" else "",
        claimed=_CLAIMED.get(dialect, _CLAIMED["sqlite"]).format(candidates=candidates),
    )


@cache
def claim(dialect: str, level: str, moment: str, flag: str) -> TextualSelect:
    """``UPDATE human_task SET <flag> = :b_now`` on the first ``:b_limit`` open tasks whose ``<moment>`` has passed
    and whose ``<flag>`` is NULL, RETURNING what their alerts need. Exactly once: the outer conditions leave alone a
    task another scheduler claimed (or closed) meanwhile; on PostgreSQL the inner query also skips the rows another
    scheduler holds (``SKIP LOCKED``), so concurrent schedulers take disjoint batches instead of waiting."""
    sql = claim_sql(dialect, level, moment, flag)
    return text(sql).bindparams(*binds()).columns(created_at=UTCDateTime(), moment=UTCDateTime())


def due_timers_sql(dialect: str) -> str:
    return _DUE_TIMERS.format(indexed=_indexed(dialect, "ix_timer_due_at"), runnable=RUNNABLE_SQL)


@cache
def due_timer_instances(dialect: str) -> TextClause:
    """The instances of the first ``:b_limit`` timers due at ``:b_now`` whose instance can run, in due order."""
    return text(due_timers_sql(dialect)).bindparams(*binds())
