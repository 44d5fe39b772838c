"""SMART App Launch: allow-listed EHR issuers and fhirUser -> account mappings (issue 26).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07

Values are written out as they were on this date (a migration is history).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

TIMESTAMP = lambda: sa.DateTime(timezone=True)  # noqa: E731


def upgrade() -> None:
    op.create_table(
        "smart_issuers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issuer", sa.String(300), nullable=False),
        sa.Column("client_id", sa.String(200), nullable=False),
        sa.Column("label", sa.String(80), nullable=False),
        sa.Column("added_by", sa.String(64), nullable=False),
        sa.Column("added_at", TIMESTAMP(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_smart_issuers"),
        sa.UniqueConstraint("issuer", name="uq_smart_issuers_issuer"),
    )
    op.create_table(
        "smart_identities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issuer", sa.String(300), nullable=False),
        sa.Column("fhir_user", sa.String(200), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("added_by", sa.String(64), nullable=False),
        sa.Column("added_at", TIMESTAMP(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_smart_identities"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name="fk_smart_identities_user_id"),
        sa.UniqueConstraint("issuer", "fhir_user", name="uq_smart_identities"),
    )
    op.create_index("ix_smart_identities_issuer", "smart_identities", ["issuer"])
    op.create_index("ix_smart_identities_user_id", "smart_identities", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_smart_identities_user_id", "smart_identities")
    op.drop_index("ix_smart_identities_issuer", "smart_identities")
    op.drop_table("smart_identities")
    op.drop_table("smart_issuers")
