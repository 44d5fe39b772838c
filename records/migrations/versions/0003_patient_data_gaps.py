"""Patients may be saved with gaps: ``data_gaps`` and ``import_source`` (issue 7).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25

Feature columns stay NOT NULL: a gap holds the schema-default placeholder and is listed in
``data_gaps`` so it is never used to predict. Existing patients are complete (``[]``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("patients", sa.Column("data_gaps", sa.JSON(), nullable=False,
                                        server_default="[]"))
    op.add_column("patients", sa.Column("import_source", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("patients", "import_source")  # SQLite >= 3.35 drops columns in place
    op.drop_column("patients", "data_gaps")
