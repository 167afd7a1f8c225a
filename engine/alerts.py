"""Stuck-step alerts. A human task past its warn moment raises a ``behind`` alert, past its stuck moment a
``stuck`` alert, each exactly once: the unit of work is claimed by a conditional UPDATE of the task's
``*_alerted_at`` column that must change exactly one row, so any number of schedulers can sweep together."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine import audit
from engine.errors import InvalidState, NotFound
from engine.execution import OPEN_STATES
from engine.models import Alert, HumanTask
from engine.outbox import SessionMailer
from engine.store import Store

LEVELS = (
    ("behind", HumanTask.warn_at, HumanTask.behind_alerted_at),
    ("stuck", HumanTask.stuck_at, HumanTask.stuck_alerted_at),
)


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
