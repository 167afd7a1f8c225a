"""Stuck-step alerts. A human task past its warn moment raises a ``behind`` alert, past its stuck moment a
``stuck`` alert, each exactly once: the sweep claims a batch of due tasks with one conditional UPDATE of their
``*_alerted_at`` column (a task is claimed only while that column is NULL, so any number of schedulers can sweep
together), then writes the batch's alerts, mails and ``alert_raised`` audit events with one statement each, in
the claim's transaction. The claim reads only the tasks still to alert (engine/_due_work.py), so a tick costs the
same however many tasks were alerted before.

An alert is open until a lead acknowledges it or its task leaves the open states: the operation that completes,
skips or cancels the task resolves the task's alerts in its own transaction (``resolve``), one ``alert_resolved``
audit event each. Only a task the sweep flagged (``*_alerted_at``) can have alerts, so closing any other task
costs no statement here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection, Row, TextualSelect, bindparam, func

from engine import _audit as audit
from engine import _audit_batch as audit_batch
from engine import _due_work as due_work
from engine._enums import AlertResolution, AuditAction
from engine._errors import InvalidState, NotFound
from engine._outbox import MAIL
from engine._store import Store
from engine.models import Alert, HumanTask, Outbox, core

_TASK, _ALERT = core(HumanTask), core(Alert)


@dataclass(frozen=True)
class Level:
    """An alert level: the task's moment that raises it, and the column that marks the task as alerted."""

    name: str
    moment: str
    flag: str

    def claim(self, dialect: str) -> TextualSelect:
        return due_work.claim(dialect, self.name, self.moment, self.flag)


LEVELS = (Level("behind", "warn_at", "behind_alerted_at"), Level("stuck", "stuck_at", "stuck_alerted_at"))
# one statement per batch (SQLAlchemy's "insertmanyvalues"): unsorted RETURNING, matched back by task
INSERT_ALERTS = _ALERT.insert().returning(_ALERT.c.human_task_id, _ALERT.c.id)
INSERT_MAILS = core(Outbox).insert()

# Statements of the operations that close tasks, built once (see engine._execution)
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


def sweep(
    store: Store, now: datetime, config: Mapping[str, Any], actor: str = "scheduler", limit: int = 500
) -> list[int]:
    """Raise every due alert, ``behind`` first then ``stuck``, in batches of up to ``limit`` tasks (one
    transaction each); returns the ids of the alerts this call raised."""
    raised: list[int] = []
    for level in LEVELS:
        while True:
            with store.unit(now) as unit:
                batch = raise_batch(unit.conn, level, now, config, actor, limit)
            raised.extend(batch)
            if len(batch) < limit:
                break
    return raised


def raise_batch(
    conn: Connection, level: Level, now: datetime, config: Mapping[str, Any], actor: str, limit: int
) -> list[int]:
    """Claim up to ``limit`` tasks due for ``level`` and raise their alerts, inside the caller's transaction: the
    claim, the alerts, the mails and the audit events are one statement each, whatever the batch's size."""
    claimed = conn.execute(level.claim(conn.dialect.name), {"b_now": now, "b_limit": limit}).all()
    if not claimed:
        return []
    tasks = sorted(claimed, key=lambda row: (row.moment, row.id))
    channels = ["mail"] if "mail" in config["alerts"]["channels"] else []
    alert_rows = [
        {
            "human_task_id": task.id,
            "instance_id": task.instance_id,
            "level": level.name,
            "raised_at": now,
            "raised_by": actor,
            "channels": ",".join(channels),
        }
        for task in tasks
    ]
    by_task: dict[int, int] = {task_pk: alert_id for task_pk, alert_id in conn.execute(INSERT_ALERTS, alert_rows)}
    ids = [by_task[task.id] for task in tasks]
    if channels:
        conn.execute(INSERT_MAILS, [mail for task in tasks for mail in _mails(task, level.name, now, config)])
    audit_batch.append_many(
        conn,
        [
            audit_batch.Event(
                at=now,
                actor=actor,
                action=AuditAction.ALERT_RAISED,
                process_id=task.process_id,
                instance_id=task.instance_id,
                task_id=task.task_id,
                customer_id=task.customer_id,
                payload={
                    "alert": alert_id,
                    "level": level.name,
                    "task": task.id,
                    "name": task.name,
                    "channels": channels,
                },
            )
            for task, alert_id in zip(tasks, ids, strict=True)
        ],
    )
    return ids


def _mails(task: Row[Any], level: str, now: datetime, config: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The outbox rows of the mails announcing ``task``'s alert: one per candidate group (cs_lead if none)."""
    domain = config["alerts"]["group_mail_domain"]
    subject = f"[Jornada] {level}: {task.name} ({task.customer_id or task.instance_id})"
    body = (
        f"Task {task.id} '{task.name}' of process {task.process_id} for customer {task.customer_id} has been "
        f"open since {task.created_at:%Y-%m-%d %H:%M} UTC and passed its {level} threshold at "
        f"{task.moment:%Y-%m-%d %H:%M} UTC. Assignee: {task.assignee or 'nobody'}."
    )
    groups = [g for g in task.candidate_groups.split(",") if g] or ["cs_lead"]
    return [
        {
            "kind": MAIL,
            "recipient": f"{group}@{domain}",
            "subject": subject,
            "body": body,
            "created_at": now,
            "sent_at": None,
            "attempts": 0,
            "last_error": None,
        }
        for group in groups
    ]


def acknowledge(store: Store, alert_id: int, *, actor: str, now: datetime) -> None:
    with store.unit(now) as unit:
        session = unit.session
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
            action=AuditAction.ALERT_ACKNOWLEDGED,
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
    conn: Connection, tasks: Sequence[ClosedTask], *, resolution: AlertResolution, actor: str, now: datetime
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
            action=AuditAction.ALERT_RESOLVED,
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
