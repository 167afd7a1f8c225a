"""decisions and external tasks

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 02:46:00

- decision_definition: DMN decisions deployed beside the models (one stored document per decision, versioned);
  process_decision: the decision versions a process definition calls (fixed at its deploy).
- external_task: a service/send/business-rule task whose topic has no in-process handler, waiting for a worker
  to fetch and lock it over the API (engine/_external.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "decision_definition",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("file_name", sa.String(length=300), nullable=False),
        sa.Column("dmn_xml", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("deployed_by", sa.String(length=100), nullable=False),
        sa.Column("deployed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("decision_id", "version"),
    )
    op.create_index("ix_decision_definition_decision_id", "decision_definition", ["decision_id"], unique=False)
    op.create_table(
        "process_decision",
        sa.Column("definition_id", sa.Integer(), nullable=False),
        sa.Column("decision_definition_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["definition_id"], ["process_definition.id"]),
        sa.ForeignKeyConstraint(["decision_definition_id"], ["decision_definition.id"]),
        sa.PrimaryKeyConstraint("definition_id", "decision_definition_id"),
    )
    op.create_table(
        "external_task",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.String(length=36), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=False),
        sa.Column("element_id", sa.String(length=200), nullable=False),
        sa.Column("process_id", sa.String(length=200), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=True),
        sa.Column("worker_id", sa.String(length=100), nullable=True),
        sa.Column("lock_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retries", sa.Integer(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("instance_id", "task_id"),
    )
    op.create_index("ix_external_task_instance_id", "external_task", ["instance_id"], unique=False)
    op.create_index("ix_external_task_topic_lock", "external_task", ["topic", "lock_expires_at"], unique=False)


def downgrade() -> None:
    op.drop_table("external_task")
    op.drop_table("process_decision")
    op.drop_index("ix_decision_definition_decision_id", table_name="decision_definition")
    op.drop_table("decision_definition")
