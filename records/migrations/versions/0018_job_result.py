"""Training jobs keep a structured result (issue 29): an update job's per-outcome step, the
closed test's p-values, the sample-size numbers and the evaluation on the recent patients,
shown in the model lab even when every outcome was kept and nothing was registered.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07

Values are written out as they were on this date (a migration is history).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("training_jobs") as batch:
        batch.add_column(sa.Column("result", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("training_jobs") as batch:
        batch.drop_column("result")
