"""sessions and the audit checkpoint

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 01:35:00

- app_user.session_generation: the number a session carries; logging out, a password change and
  deactivation move it on, which ends every session of that user (web/sessions.py).
- audit_checkpoint: how far the audit page has verified the chain, so a page load verifies only newer rows.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("app_user") as batch:
        batch.add_column(sa.Column("session_generation", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "audit_checkpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("audit_checkpoint")
    with op.batch_alter_table("app_user") as batch:
        batch.drop_column("session_generation")
