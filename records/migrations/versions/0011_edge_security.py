"""Security at the edges (issue 24): the store's identity for audit anchoring, the CDS Hooks
token replay cache, and sign-in throttling by source.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07

- ``audit_anchor`` (one row): ``store_id``, a random id made here once, which signed audit
  checkpoints name instead of the database URL (a moved data folder keeps its anchor), and
  ``checkpoints``, the sequence number of the newest checkpoint written for this store (a
  truncated or deleted checkpoint file is noticed).
- ``cds_token_uses``: a SHA-256 of (issuer, ``jti``) per accepted CDS Hooks token until its
  expiry, so a replayed token is refused after a restart too.
- ``signin_throttle``: failed sign-ins counted per source address and minute (and a global
  count under the source ``*``), for the growing delay of ``records.security.throttle``.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    anchor = op.create_table(
        "audit_anchor",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("store_id", sa.String(36), nullable=False),
        sa.Column("checkpoints", sa.Integer, nullable=False, server_default="0"),
    )
    op.bulk_insert(anchor, [{"id": 1, "store_id": str(uuid.uuid4()), "checkpoints": 0}])
    op.create_table(
        "cds_token_uses",
        sa.Column("token_key", sa.String(64), primary_key=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_cds_token_uses_expires_at", "cds_token_uses", ["expires_at"])
    op.create_table(
        "signin_throttle",
        sa.Column("source", sa.String(64), primary_key=True),
        sa.Column("window", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_table("signin_throttle")
    op.drop_index("ix_cds_token_uses_expires_at", "cds_token_uses")
    op.drop_table("cds_token_uses")
    op.drop_table("audit_anchor")
