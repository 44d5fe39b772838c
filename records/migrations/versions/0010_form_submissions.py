"""Form submission tokens: a dashboard form is saved at most once (issue 23 defect 1).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07

A new table ``form_submissions`` with a unique ``token``. The store writes the token in the
same transaction as the record a form saves, so a double click, a retry or a second request
with the same token cannot store the record twice. Existing data is untouched: records saved
before this revision have no token (nothing is invented for them).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "form_submissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(64), nullable=False),
        sa.Column("form", sa.String(64), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("username", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_form_submissions"),
        sa.UniqueConstraint("token", name="uq_form_submissions_token"),
    )


def downgrade() -> None:
    op.drop_table("form_submissions")
