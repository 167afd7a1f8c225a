"""scale and operations

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 06:00:00

- human_task: partial indexes over the open rows only, one per inbox view in its default order (all, mine,
  process), and one per alert level over the open tasks not yet alerted at that level (the sweep). The old
  (state, warn_at) and (state, due_at) indexes are dropped (without statistics SQLite chose the latter and sorted
  every open row); (state, stuck_at) becomes a partial index on stuck_at.
- scheduler_heartbeat: one row per running scheduler, its newest beat (/healthz, /metrics).
- open_task_group: the candidate groups of the open tasks only, with their sort keys (the group queue reads one index
  range per group), filled from the open tasks' human_task_group rows.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

OPEN = "state IN ('ready', 'claimed')"


def _partial(where: str) -> dict[str, object]:
    return {"sqlite_where": sa.text(where), "postgresql_where": sa.text(where)}


def upgrade() -> None:
    op.drop_index("ix_human_task_open_warn", table_name="human_task")
    op.drop_index("ix_human_task_open_due", table_name="human_task")
    order = ["due_at", sa.text("priority DESC"), "id"]
    op.drop_index("ix_human_task_open_stuck", table_name="human_task")
    op.create_index("ix_human_task_open_stuck_at", "human_task", ["stuck_at"], **_partial(OPEN))
    op.create_index("ix_human_task_inbox_all", "human_task", order, **_partial(OPEN))
    op.create_index("ix_human_task_inbox_mine", "human_task", ["assignee", *order], **_partial(OPEN))
    op.create_index("ix_human_task_inbox_process", "human_task", ["process_id", *order], **_partial(OPEN))
    op.create_index(
        "ix_human_task_behind_pending", "human_task", ["warn_at"], **_partial(f"{OPEN} AND behind_alerted_at IS NULL")
    )
    op.create_index(
        "ix_human_task_stuck_pending", "human_task", ["stuck_at"], **_partial(f"{OPEN} AND stuck_alerted_at IS NULL")
    )
    op.create_table(
        "open_task_group",
        sa.Column("group_name", sa.String(length=100), nullable=False),
        sa.Column("human_task_id", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("process_id", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["human_task_id"], ["human_task.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("group_name", "human_task_id"),
    )
    op.create_index(
        "ix_open_task_group_order",
        "open_task_group",
        ["group_name", "due_at", sa.text("priority DESC"), "human_task_id"],
    )
    op.create_index(
        "ix_open_task_group_process",
        "open_task_group",
        ["group_name", "process_id", "due_at", sa.text("priority DESC"), "human_task_id"],
    )
    op.execute(
        "INSERT INTO open_task_group (group_name, human_task_id, due_at, priority, process_id) "
        "SELECT g.group_name, t.id, t.due_at, t.priority, t.process_id FROM human_task_group g "
        f"JOIN human_task t ON t.id = g.human_task_id WHERE t.{OPEN}"
    )
    op.create_table(
        "scheduler_heartbeat",
        sa.Column("node", sa.String(length=200), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("beat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.String(length=50), nullable=False),
        sa.PrimaryKeyConstraint("node"),
    )


def downgrade() -> None:
    op.drop_table("scheduler_heartbeat")
    op.drop_index("ix_open_task_group_process", table_name="open_task_group")
    op.drop_index("ix_open_task_group_order", table_name="open_task_group")
    op.drop_table("open_task_group")
    for name in (
        "ix_human_task_stuck_pending",
        "ix_human_task_behind_pending",
        "ix_human_task_inbox_process",
        "ix_human_task_inbox_mine",
        "ix_human_task_inbox_all",
        "ix_human_task_open_stuck_at",
    ):
        op.drop_index(name, table_name="human_task")
    op.create_index("ix_human_task_open_due", "human_task", ["state", "due_at"])
    op.create_index("ix_human_task_open_stuck", "human_task", ["state", "stuck_at"])
    op.create_index("ix_human_task_open_warn", "human_task", ["state", "warn_at"])
