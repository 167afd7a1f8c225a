"""The engine's tables (SQLAlchemy 2, typed). Migrations in migrations/ create exactly these."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def bind_processor(self, dialect: Dialect) -> Any:
        """On SQLite, one step to the text SQLAlchemy's DATETIME stores ("YYYY-MM-DD HH:MM:SS.ffffff", UTC) instead
        of process_bind_param followed by the dialect's formatting: this runs for every timestamp written."""
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def process(value: datetime | None) -> str | None:
            if value is None:
                return None
            if value.tzinfo is None:
                raise ValueError(f"naive datetime {value!r} given to a UTC column")
            return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")

        return process


class Base(DeclarativeBase):
    pass


class ProcessDefinition(Base):
    __tablename__ = "process_definition"
    __table_args__ = (UniqueConstraint("process_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(300), default="")
    file_name: Mapped[str] = mapped_column(String(300), default="")
    bpmn_xml: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    deployed_by: Mapped[str] = mapped_column(String(100))
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DecisionDefinition(Base):
    """One DMN decision (a stand-alone DMN document holding just it), versioned like process definitions."""

    __tablename__ = "decision_definition"
    __table_args__ = (UniqueConstraint("decision_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    decision_id: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(300), default="")
    file_name: Mapped[str] = mapped_column(String(300), default="")
    dmn_xml: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    deployed_by: Mapped[str] = mapped_column(String(100))
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ProcessDecision(Base):
    """The decision versions a process definition's business rule tasks call, fixed at deploy (engine._deploy)."""

    __tablename__ = "process_decision"

    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definition.id"), primary_key=True)
    decision_definition_id: Mapped[int] = mapped_column(ForeignKey("decision_definition.id"), primary_key=True)


class ProcessInstance(Base):
    __tablename__ = "process_instance"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definition.id"))
    process_id: Mapped[str] = mapped_column(String(200), index=True)
    # JSON list of the definition ids of called processes, fixed when the instance starts.
    called_definitions: Mapped[str] = mapped_column(Text, default="[]")
    customer_id: Mapped[str | None] = mapped_column(String(64), index=True)
    business_key: Mapped[str | None] = mapped_column(String(200), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)  # running waiting completed cancelled incident
    incident: Mapped[str | None] = mapped_column(Text)
    state_json: Mapped[str] = mapped_column(Text)
    # the message names the instance waits for, as ",name,other," ("" none; NULL unknown: written before the
    # column existed), so a message is routed without loading instances that cannot catch it
    waiting_messages: Mapped[str | None] = mapped_column(String(1000))
    serializer_version: Mapped[str] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    started_by: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # ``version`` is the optimistic lock: engine._execution.InstanceRecord, the one writer of instance rows, checks
    # and bumps it (the ORM reads these rows, it never writes them)


OPEN_TASK_SQL = "state IN ('ready', 'claimed')"
OPEN_TASK_WHERE: dict[str, Any] = {"sqlite_where": text(OPEN_TASK_SQL), "postgresql_where": text(OPEN_TASK_SQL)}


def _pending(flag: str) -> dict[str, Any]:
    where = text(f"{OPEN_TASK_SQL} AND {flag} IS NULL")
    return {"sqlite_where": where, "postgresql_where": where}


class HumanTask(Base):
    """One row per READY user/manual task; the inbox reads only this table."""

    __tablename__ = "human_task"
    __table_args__ = (
        UniqueConstraint("instance_id", "task_id"),
        # open tasks past their stuck moment, alerted or not (processes/health.py's stale customers)
        Index("ix_human_task_open_stuck_at", "stuck_at", **OPEN_TASK_WHERE),
        # The inbox's views read only open rows, in their default order (due first, no due date last, higher
        # priority first, oldest id first): one partial index per view, so a page is an index range scan.
        Index("ix_human_task_inbox_all", "due_at", text("priority DESC"), "id", **OPEN_TASK_WHERE),
        Index("ix_human_task_inbox_mine", "assignee", "due_at", text("priority DESC"), "id", **OPEN_TASK_WHERE),
        Index("ix_human_task_inbox_process", "process_id", "due_at", text("priority DESC"), "id", **OPEN_TASK_WHERE),
        # The sweep reads only open tasks not yet alerted at that level.
        Index("ix_human_task_behind_pending", "warn_at", **_pending("behind_alerted_at")),
        Index("ix_human_task_stuck_pending", "stuck_at", **_pending("stuck_alerted_at")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instance.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(300))
    process_id: Mapped[str] = mapped_column(String(200), index=True)
    customer_id: Mapped[str | None] = mapped_column(String(64), index=True)
    candidate_groups: Mapped[str] = mapped_column(String(300), default="")
    assignee: Mapped[str | None] = mapped_column(String(100), index=True)
    priority: Mapped[int] = mapped_column(Integer, default=50)
    state: Mapped[str] = mapped_column(String(20))  # ready claimed completed cancelled skipped
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_by: Mapped[str | None] = mapped_column(String(100))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    warn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stuck_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    behind_alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stuck_alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class HumanTaskGroup(Base):
    """Candidate groups of a human task, one row each, so the group queue is an indexed lookup."""

    __tablename__ = "human_task_group"

    human_task_id: Mapped[int] = mapped_column(ForeignKey("human_task.id", ondelete="CASCADE"), primary_key=True)
    group_name: Mapped[str] = mapped_column(String(100), primary_key=True, index=True)


class OpenTaskGroup(Base):
    """The candidate groups of the *open* human tasks only, with the task's sort keys, so a group queue reads one
    index range per group however long the history of closed tasks grows. Written with the task, deleted when it
    leaves the open states."""

    __tablename__ = "open_task_group"
    __table_args__ = (
        Index("ix_open_task_group_order", "group_name", "due_at", text("priority DESC"), "human_task_id"),
        # the queue filtered by process (the inbox's most used filter) without reading the task rows
        Index(
            "ix_open_task_group_process", "group_name", "process_id", "due_at", text("priority DESC"), "human_task_id"
        ),
    )

    group_name: Mapped[str] = mapped_column(String(100), primary_key=True)
    human_task_id: Mapped[int] = mapped_column(ForeignKey("human_task.id", ondelete="CASCADE"), primary_key=True)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    priority: Mapped[int] = mapped_column(Integer, default=50)
    process_id: Mapped[str] = mapped_column(String(200))  # the task's, as due_at and priority


class Timer(Base):
    __tablename__ = "timer"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instance.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(200))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class ExternalTask(Base):
    """One row per service/send/business-rule task whose topic has no in-process handler, while it waits for a
    worker (see engine/_external.py). Fetchable when ``lock_expires_at`` is NULL or past: it is the lock's end
    while a worker holds it, and the end of the retry timeout after a failure."""

    __tablename__ = "external_task"
    __table_args__ = (
        UniqueConstraint("instance_id", "task_id"),
        Index("ix_external_task_topic_lock", "topic", "lock_expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instance.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(200))
    process_id: Mapped[str] = mapped_column(String(200))
    topic: Mapped[str] = mapped_column(String(200))
    customer_id: Mapped[str | None] = mapped_column(String(64))
    worker_id: Mapped[str | None] = mapped_column(String(100))
    lock_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retries: Mapped[int | None] = mapped_column(Integer)  # NULL until a worker's failure says how many are left
    error_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditEvent(Base):
    """Append-only. hash = sha256(prev_hash + canonical row fields + payload_hash)."""

    __tablename__ = "audit_event"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(100), index=True)
    action: Mapped[str] = mapped_column(String(60), index=True)
    process_id: Mapped[str | None] = mapped_column(String(200), index=True)
    instance_id: Mapped[str | None] = mapped_column(String(36), index=True)
    task_id: Mapped[str | None] = mapped_column(String(36))
    customer_id: Mapped[str | None] = mapped_column(String(64), index=True)
    payload: Mapped[str] = mapped_column(Text)
    payload_hash: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    redacted: Mapped[bool] = mapped_column(Boolean, default=False)


class AuditHead(Base):
    """A single row holding the chain's last seq and hash; locking it serialises appends."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(64))


class AuditCheckpoint(Base):
    """A single row: the chain was verified from the first row up to ``seq``, whose hash was ``hash``. The audit
    page verifies only the rows after it and moves it on; a cache of work done, not evidence (the signed anchors
    outside the database are, see engine/_anchors.py)."""

    __tablename__ = "audit_checkpoint"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
    verified_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TaskKpi(Base):
    __tablename__ = "task_kpi"

    id: Mapped[int] = mapped_column(primary_key=True)
    human_task_id: Mapped[int] = mapped_column(Integer, unique=True)
    instance_id: Mapped[str] = mapped_column(String(36), index=True)
    process_id: Mapped[str] = mapped_column(String(200), index=True)
    element_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(300))
    completed_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    wait_seconds: Mapped[float] = mapped_column(Float)
    work_seconds: Mapped[float] = mapped_column(Float)
    cycle_seconds: Mapped[float] = mapped_column(Float)
    sla_met: Mapped[bool | None] = mapped_column(Boolean)
    warn_reached: Mapped[bool] = mapped_column(Boolean)
    stuck_reached: Mapped[bool] = mapped_column(Boolean)


OPEN_ALERT = text("acknowledged_at IS NULL AND resolved_at IS NULL")


class Alert(Base):
    __tablename__ = "alert"
    __table_args__ = (
        UniqueConstraint("human_task_id", "level"),
        # the open alerts (neither acknowledged nor resolved), newest first: the alert page and the KPI figure
        Index("ix_alert_open", "raised_at", sqlite_where=OPEN_ALERT, postgresql_where=OPEN_ALERT),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    human_task_id: Mapped[int] = mapped_column(ForeignKey("human_task.id"), index=True)
    instance_id: Mapped[str] = mapped_column(String(36), index=True)
    level: Mapped[str] = mapped_column(String(10))  # behind | stuck
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    raised_by: Mapped[str] = mapped_column(String(100))
    channels: Mapped[str] = mapped_column(String(200), default="")
    acknowledged_by: Mapped[str | None] = mapped_column(String(100))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # set when the alert's task leaves the open states (see engine._alerts.resolve)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(100))
    resolution: Mapped[str | None] = mapped_column(String(30))  # task_completed | task_cancelled | task_skipped


class Outbox(Base):
    """Mails and webhooks, written in the operation's transaction and sent after commit."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # mail | webhook
    recipient: Mapped[str] = mapped_column(String(300))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


def core(model: type[Base]) -> Table:
    """The Core ``Table`` of a model, for the hot path's plain INSERT/UPDATE/SELECT statements."""
    return cast(Table, model.__table__)


class SchedulerHeartbeat(Base):
    """One row per running scheduler (``jornada scheduler`` or the one in ``jornada serve``), written every tick:
    /healthz and /metrics read the age of the newest beat (engine/_heartbeat.py)."""

    __tablename__ = "scheduler_heartbeat"

    node: Mapped[str] = mapped_column(String(200), primary_key=True)  # scheduler.node_name, else host:pid
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[str] = mapped_column(String(50))  # the Jornada release the scheduler runs
