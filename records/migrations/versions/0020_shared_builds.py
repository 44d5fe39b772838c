"""Shared builds (issue 31): a lease row per derived table (the cohort table), so replicas
on one store build it once per store state, with the published Arrow bytes beside it.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07

Values are written out as they were on this date (a migration is history).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "shared_builds",
        sa.Column("key", sa.String(160), primary_key=True),
        sa.Column("holder", sa.String(128), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fingerprint", sa.String(200), nullable=True),
        sa.Column("digest", sa.String(64), nullable=True),
        sa.Column("tag", sa.String(200), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("builds", sa.Integer(), server_default="0", nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_by", sa.String(128), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("shared_builds")
