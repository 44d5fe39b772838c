"""CDS Hooks cards issued and the EHR's feedback on them (issue 26).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07

Values are written out as they were on this date (a migration is history).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from records.tables.append_only import create_triggers, drop_triggers

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

TIMESTAMP = lambda: sa.DateTime(timezone=True)  # noqa: E731


def upgrade() -> None:
    op.create_table(
        "cds_cards",
        sa.Column("uuid", sa.String(36), nullable=False),
        sa.Column("service_id", sa.String(64), nullable=False),
        sa.Column("card_type", sa.String(80), nullable=False),
        sa.Column("indicator", sa.String(16), nullable=False),
        sa.Column("issuer", sa.String(200), nullable=False),
        sa.Column("patient_ref", sa.String(200), nullable=False),
        sa.Column("issued_at", TIMESTAMP(), nullable=False),
        sa.PrimaryKeyConstraint("uuid", name="pk_cds_cards"),
    )
    for column in ("service_id", "card_type", "issued_at"):
        op.create_index(f"ix_cds_cards_{column}", "cds_cards", [column])
    op.create_table(
        "cds_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("card_uuid", sa.String(36), nullable=False),
        sa.Column("service_id", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("override_code", sa.String(64), nullable=True),
        sa.Column("override_display", sa.String(200), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("accepted_suggestions", sa.Text(), nullable=True),
        sa.Column("outcome_at", TIMESTAMP(), nullable=False),
        sa.Column("issuer", sa.String(200), nullable=False),
        sa.Column("received_at", TIMESTAMP(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cds_feedback"),
        sa.CheckConstraint("outcome IN ('accepted', 'overridden')",
                           name="ck_cds_feedback_outcome"),
    )
    for column in ("card_uuid", "received_at"):
        op.create_index(f"ix_cds_feedback_{column}", "cds_feedback", [column])
    create_triggers(op, "cds_feedback", "CDS card feedback is append-only", truncate=True)


def downgrade() -> None:
    drop_triggers(op, "cds_feedback")
    op.drop_table("cds_feedback")
    op.drop_table("cds_cards")
