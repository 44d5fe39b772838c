"""SMART launches waiting for their callback, kept in the store (any replica may finish one).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07

Values are written out as they were on this date (a migration is history).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "smart_pending",
        sa.Column("state_sha256", sa.String(64), nullable=False),
        sa.Column("binding_sha256", sa.String(64), nullable=False),
        sa.Column("launch", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("state_sha256", name="pk_smart_pending"),
    )
    op.create_index("ix_smart_pending_expires_at", "smart_pending", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_smart_pending_expires_at", table_name="smart_pending")
    op.drop_table("smart_pending")
