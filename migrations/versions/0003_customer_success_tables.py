"""customer success tables

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 22:08:16.115256
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# the alerts of tasks closed before this revision: resolved as of the task's end, by "migration"
RESOLVE_CLOSED_TASK_ALERTS = (
    "UPDATE alert SET resolved_by = 'migration',"
    " resolved_at = (SELECT completed_at FROM human_task WHERE human_task.id = alert.human_task_id),"
    " resolution = 'task_' || (SELECT state FROM human_task WHERE human_task.id = alert.human_task_id)"
    " WHERE resolved_at IS NULL AND human_task_id IN"
    " (SELECT id FROM human_task WHERE state IN ('completed', 'cancelled', 'skipped'))"
)


def upgrade() -> None:
    op.create_table(
        "health_pending",
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.PrimaryKeyConstraint("customer_id"),
    )

    op.create_table(
        "cs_daily",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("segment", sa.String(length=30), nullable=False),
        sa.Column("csm_owner", sa.String(length=100), nullable=False),
        sa.Column("nps_n", sa.Integer(), nullable=False),
        sa.Column("nps_promoters", sa.Integer(), nullable=False),
        sa.Column("nps_detractors", sa.Integer(), nullable=False),
        sa.Column("csat_n", sa.Integer(), nullable=False),
        sa.Column("csat_satisfied", sa.Integer(), nullable=False),
        sa.Column("ces_n", sa.Integer(), nullable=False),
        sa.Column("ces_sum", sa.Float(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("active_days", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "segment", "csm_owner"),
    )
    op.create_table(
        "customer_contact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=100), nullable=False),
        sa.Column("language", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("customer_contact", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_customer_contact_customer_id"), ["customer_id"], unique=False)

    op.create_table(
        "customer_day",
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
        ),
        sa.PrimaryKeyConstraint("customer_id", "day"),
    )
    with op.batch_alter_table("customer_day", schema=None) as batch_op:
        batch_op.create_index("ix_customer_day_day", ["day"], unique=False)

    op.create_table(
        "health_snapshot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("band", sa.String(length=20), nullable=False),
        sa.Column("components", sa.Text(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("health_snapshot", schema=None) as batch_op:
        batch_op.create_index("ix_health_snapshot_customer_at", ["customer_id", "at"], unique=False)

    op.create_table(
        "playbook_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("process_id", sa.String(length=200), nullable=False),
        sa.Column("rule", sa.String(length=100), nullable=False),
        sa.Column("trigger", sa.Text(), nullable=False),
        sa.Column("instance_id", sa.String(length=36), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("playbook_run", schema=None) as batch_op:
        batch_op.create_index(
            "ix_playbook_run_customer_process", ["customer_id", "process_id", "started_at"], unique=False
        )

    op.create_table(
        "product_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("properties", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("product_event", schema=None) as batch_op:
        batch_op.create_index("ix_product_event_customer_at", ["customer_id", "at"], unique=False)

    op.create_table(
        "support_ticket",
        sa.Column("instance_id", sa.String(length=36), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_response_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_contact_resolution", sa.Boolean(), nullable=True),
        sa.Column("repeat_within_30d", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
        ),
        sa.PrimaryKeyConstraint("instance_id"),
    )
    with op.batch_alter_table("support_ticket", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_support_ticket_created_at"), ["created_at"], unique=False)
        batch_op.create_index("ix_support_ticket_customer_created", ["customer_id", "created_at"], unique=False)
        batch_op.create_index("ix_support_ticket_resolved", ["resolved_at"], unique=False)

    op.create_table(
        "survey_answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("scale_min", sa.Integer(), nullable=False),
        sa.Column("scale_max", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("instance_id", sa.String(length=36), nullable=True),
        sa.Column("element_id", sa.String(length=200), nullable=True),
        sa.Column("link_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["customer_contact.id"],
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("survey_answer", schema=None) as batch_op:
        batch_op.create_index("ix_survey_answer_at", ["at"], unique=False)
        batch_op.create_index("ix_survey_answer_customer_at", ["customer_id", "at"], unique=False)
        batch_op.create_index(batch_op.f("ix_survey_answer_instance_id"), ["instance_id"], unique=False)

    op.create_table(
        "survey_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("language", sa.String(length=10), nullable=False),
        sa.Column("instance_id", sa.String(length=36), nullable=True),
        sa.Column("element_id", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["customer_contact.id"],
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("survey_link", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_survey_link_customer_id"), ["customer_id"], unique=False)

    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.add_column(sa.Column("segment", sa.String(length=30), nullable=False, server_default="smb"))
        batch_op.add_column(sa.Column("currency", sa.String(length=3), nullable=False, server_default="USD"))
        batch_op.add_column(sa.Column("contract_start", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("renewal_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("external_id", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("health_score", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("health_band", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("health_updated_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_customer_external_id"), ["external_id"], unique=False)
        batch_op.create_index("ix_customer_owner", ["csm_owner"], unique=False)
        batch_op.create_index(batch_op.f("ix_customer_renewal_date"), ["renewal_date"], unique=False)
        batch_op.create_index("ix_customer_segment", ["segment"], unique=False)
        batch_op.create_index("ix_customer_health", ["health_score"], unique=False)
        batch_op.create_index("ix_customer_segment_owner_mrr", ["segment", "csm_owner", "mrr"], unique=False)

    with op.batch_alter_table("mrr_movement", schema=None) as batch_op:
        batch_op.create_index("ix_mrr_movement_at", ["at"], unique=False)

    # NULL for the instances saved before: message routing loads those to see what they wait for
    with op.batch_alter_table("process_instance", schema=None) as batch_op:
        batch_op.add_column(sa.Column("waiting_messages", sa.String(length=1000), nullable=True))

    # alerts close when their task leaves the open states (engine._alerts.resolve)
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.add_column(sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("resolved_by", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("resolution", sa.String(length=30), nullable=True))
    open_alert = sa.text("acknowledged_at IS NULL AND resolved_at IS NULL")
    op.create_index("ix_alert_open", "alert", ["raised_at"], sqlite_where=open_alert, postgresql_where=open_alert)
    op.execute(RESOLVE_CLOSED_TASK_ALERTS)

    # ### end Alembic commands ###


def downgrade() -> None:
    op.drop_table("health_pending")
    op.drop_index("ix_alert_open", table_name="alert")
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.drop_column("resolution")
        batch_op.drop_column("resolved_by")
        batch_op.drop_column("resolved_at")

    with op.batch_alter_table("process_instance", schema=None) as batch_op:
        batch_op.drop_column("waiting_messages")

    with op.batch_alter_table("mrr_movement", schema=None) as batch_op:
        batch_op.drop_index("ix_mrr_movement_at")

    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_segment_owner_mrr")
        batch_op.drop_index("ix_customer_health")
        batch_op.drop_index("ix_customer_segment")
        batch_op.drop_index(batch_op.f("ix_customer_renewal_date"))
        batch_op.drop_index("ix_customer_owner")
        batch_op.drop_index(batch_op.f("ix_customer_external_id"))
        batch_op.drop_column("archived_at")
        batch_op.drop_column("updated_at")
        batch_op.drop_column("health_updated_at")
        batch_op.drop_column("health_band")
        batch_op.drop_column("health_score")
        batch_op.drop_column("external_id")
        batch_op.drop_column("renewal_date")
        batch_op.drop_column("contract_start")
        batch_op.drop_column("currency")
        batch_op.drop_column("segment")

    with op.batch_alter_table("survey_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_survey_link_customer_id"))

    op.drop_table("survey_link")
    with op.batch_alter_table("survey_answer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_survey_answer_instance_id"))
        batch_op.drop_index("ix_survey_answer_customer_at")
        batch_op.drop_index("ix_survey_answer_at")

    op.drop_table("survey_answer")
    with op.batch_alter_table("support_ticket", schema=None) as batch_op:
        batch_op.drop_index("ix_support_ticket_resolved")
        batch_op.drop_index("ix_support_ticket_customer_created")
        batch_op.drop_index(batch_op.f("ix_support_ticket_created_at"))

    op.drop_table("support_ticket")
    with op.batch_alter_table("product_event", schema=None) as batch_op:
        batch_op.drop_index("ix_product_event_customer_at")

    op.drop_table("product_event")
    with op.batch_alter_table("playbook_run", schema=None) as batch_op:
        batch_op.drop_index("ix_playbook_run_customer_process")

    op.drop_table("playbook_run")
    with op.batch_alter_table("health_snapshot", schema=None) as batch_op:
        batch_op.drop_index("ix_health_snapshot_customer_at")

    op.drop_table("health_snapshot")
    with op.batch_alter_table("customer_day", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_day_day")

    op.drop_table("customer_day")
    with op.batch_alter_table("customer_contact", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_contact_customer_id"))

    op.drop_table("customer_contact")
    op.drop_table("cs_daily")
    # ### end Alembic commands ###
