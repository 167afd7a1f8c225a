"""Stuck-step alerts. A human task past its warn moment raises a ``behind`` alert, past its stuck moment a
``stuck`` alert, each exactly once: the unit of work is claimed by a conditional UPDATE of the task's
``*_alerted_at`` column that must change exactly one row, so any number of schedulers can sweep together.

An alert is open until a lead acknowledges it or its task leaves the open states: the operation that completes,
skips or cancels the task resolves the task's alerts in its own transaction (``resolve``), one ``alert_resolved``
audit event each. Only a task the sweep flagged (``*_alerted_at``) can have alerts, so closing any other task
costs no statement here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal, Protocol

from sqlalchemy import Connection, bindparam, func, select, update
from sqlalchemy.orm import Session

from engine import audit
from engine.errors import InvalidState, NotFound
from engine.models import Alert, HumanTask, core
from engine.outbox import SessionMailer
from engine.store import Store

LEVELS = (
    ("behind", HumanTask.warn_at, HumanTask.behind_alerted_at),
    ("stuck", HumanTask.stuck_at, HumanTask.stuck_alerted_at),
)

Resolution = Literal["task_completed", "task_cancelled", "task_skipped"]

# Statements of the operations that close tasks, built once (see engine.execution)
_TASK, _ALERT = core(HumanTask), core(Alert)
# Not NULL when the sweep raised an alert on the task. RETURNING it from the UPDATE that closes the task reads it
# after the row's lock, so an alert raised by a sweep that committed meanwhile is not missed. (Not an ``IS NOT NULL``
# test: SQLite 3.40 returns 1 for ``column IS NOT NULL`` in a RETURNING clause even when the column is NULL.)
ALERTED = func.coalesce(_TASK.c.behind_alerted_at, _TASK.c.stuck_alerted_at).label("alerted_at")
# what an UPDATE closing tasks returns for ``resolve``
CLOSED_COLUMNS = (
    _TASK.c.id,
    _TASK.c.instance_id,
    _TASK.c.task_id,
    _TASK.c.process_id,
    _TASK.c.customer_id,
    _TASK.c.name,
    ALERTED,
)
RESOLVE = (
    _ALERT.update()
    .where(_ALERT.c.human_task_id.in_(bindparam("b_tasks", expanding=True)), _ALERT.c.resolved_at.is_(None))
    .values(resolved_at=bindparam("b_now"), resolved_by=bindparam("b_actor"), resolution=bindparam("b_resolution"))
    .returning(_ALERT.c.id, _ALERT.c.human_task_id, _ALERT.c.level, _ALERT.c.acknowledged_by)
)


class ClosedTask(Protocol):
    """The columns of a task that just left the open states (a row of ``CLOSED_COLUMNS`` or of ``human_task``)."""

    @property
    def id(self) -> int: ...
    @property
    def instance_id(self) -> str: ...
    @property
    def task_id(self) -> str: ...
    @property
    def process_id(self) -> str: ...
    @property
    def customer_id(self) -> str | None: ...
    @property
    def name(self) -> str: ...


def _notify(session: Session, row: HumanTask, level: str, now: datetime, config: Mapping[str, Any]) -> list[str]:
    channels = []
    if "mail" in config["alerts"]["channels"]:
        mailer = SessionMailer(session, now)
        domain = config["alerts"]["group_mail_domain"]
        moment = row.warn_at if level == "behind" else row.stuck_at
        for group in [g for g in row.candidate_groups.split(",") if g] or ["cs_lead"]:
            mailer.queue_mail(
                f"{group}@{domain}",
                f"[Jornada] {level}: {row.name} ({row.customer_id or row.instance_id})",
                f"Task {row.id} '{row.name}' of process {row.process_id} for customer {row.customer_id} has been "
                f"open since {row.created_at:%Y-%m-%d %H:%M} UTC and passed its {level} threshold at "
                f"{moment:%Y-%m-%d %H:%M} UTC. Assignee: {row.assignee or 'nobody'}.",
            )
        channels.append("mail")
    return channels


def sweep(
    store: Store, now: datetime, config: Mapping[str, Any], actor: str = "scheduler", limit: int = 500
) -> list[int]:
    """Raise every due alert; returns the ids of the alerts this call raised."""
    from engine.execution import OPEN_STATES  # here: engine.execution imports this module to resolve alerts

    raised: list[int] = []
    for level, moment, flag in LEVELS:
        with store.session() as session:
            candidates = (
                session.execute(
                    select(HumanTask.id)
                    .where(HumanTask.state.in_(OPEN_STATES), moment <= now, flag.is_(None))
                    .order_by(moment)
                    .limit(limit)
                )
                .scalars()
                .all()
            )
        for task_pk in candidates:
            with store.transaction() as session:
                claimed = session.execute(
                    update(HumanTask)
                    .where(HumanTask.id == task_pk, flag.is_(None), HumanTask.state.in_(OPEN_STATES))
                    .values({flag.key: now})
                )
                if claimed.rowcount != 1:  # type: ignore[attr-defined]
                    continue  # another sweeper took it, or the task closed meanwhile
                row = session.get(HumanTask, task_pk)
                assert row is not None
                channels = _notify(session, row, level, now, config)
                alert = Alert(
                    human_task_id=row.id,
                    instance_id=row.instance_id,
                    level=level,
                    raised_at=now,
                    raised_by=actor,
                    channels=",".join(channels),
                )
                session.add(alert)
                session.flush()
                audit.append(
                    session,
                    at=now,
                    actor=actor,
                    action="alert_raised",
                    process_id=row.process_id,
                    instance_id=row.instance_id,
                    task_id=row.task_id,
                    customer_id=row.customer_id,
                    payload={"alert": alert.id, "level": level, "task": row.id, "name": row.name, "channels": channels},
                )
                raised.append(alert.id)
    return raised


def acknowledge(store: Store, alert_id: int, *, actor: str, now: datetime) -> None:
    with store.transaction() as session:
        alert = session.get(Alert, alert_id)
        if alert is None:
            raise NotFound(f"alert {alert_id} does not exist")
        if alert.acknowledged_at is not None:
            raise InvalidState(f"alert {alert_id} was already acknowledged by {alert.acknowledged_by}")
        if alert.resolved_at is not None:
            raise InvalidState(f"alert {alert_id} is already resolved ({alert.resolution}); nothing to acknowledge")
        alert.acknowledged_by, alert.acknowledged_at = actor, now
        task = session.get(HumanTask, alert.human_task_id)
        audit.append(
            session,
            at=now,
            actor=actor,
            action="alert_acknowledged",
            instance_id=alert.instance_id,
            process_id=task.process_id if task else None,
            customer_id=task.customer_id if task else None,
            task_id=task.task_id if task else None,
            payload={
                "alert": alert_id,
                "level": alert.level,
                "task": alert.human_task_id,
                "before": {"acknowledged_by": None},
                "after": {"acknowledged_by": actor},
            },
        )


def resolve(
    conn: Connection, tasks: Sequence[ClosedTask], *, resolution: Resolution, actor: str, now: datetime
) -> list[int]:
    """Resolve the alerts not yet resolved of ``tasks``, which just left the open states, inside the caller's
    transaction: one UPDATE for them all and an ``alert_resolved`` audit event per alert. Returns the alert ids.
    Pass only tasks the sweep flagged (``ALERTED`` not None): the others have no alert."""
    if not tasks:
        return []
    by_pk = {task.id: task for task in tasks}
    params = {"b_tasks": sorted(by_pk), "b_now": now, "b_actor": actor, "b_resolution": resolution}
    resolved = sorted(conn.execute(RESOLVE, params).all())
    after = {"resolved_at": now.isoformat(), "resolved_by": actor, "resolution": resolution}
    for alert_id, task_pk, level, acknowledged_by in resolved:
        task = by_pk[task_pk]
        audit.append(
            conn,
            at=now,
            actor=actor,
            action="alert_resolved",
            process_id=task.process_id,
            instance_id=task.instance_id,
            task_id=task.task_id,
            customer_id=task.customer_id,
            payload={
                "alert": alert_id,
                "level": level,
                "task": task_pk,
                "name": task.name,
                "acknowledged_by": acknowledged_by,
                "before": {"resolved_at": None, "resolved_by": None, "resolution": None},
                "after": after,
            },
        )
    return [alert_id for alert_id, *_ in resolved]
