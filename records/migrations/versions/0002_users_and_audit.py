"""Users (sign-in, roles, lockout) and the append-only, hash-chained audit log.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

Values are written out as they were on this date (a migration is history).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from records.tables.append_only import create_triggers, drop_triggers

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TIMESTAMP = lambda: sa.DateTime(timezone=True)  # noqa: E731
ROLES = ("clinician", "data_scientist", "trainee", "admin")
OUTCOMES = ("success", "failure", "denied")
GENESIS_HASH = "0" * 64


def _in_list(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.String(128), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("locked_until", TIMESTAMP(), nullable=True),
        sa.Column("last_login_at", TIMESTAMP(), nullable=True),
        sa.Column("password_changed_at", TIMESTAMP(), nullable=False),
        sa.Column("created_at", TIMESTAMP(), nullable=False),
        sa.Column("updated_at", TIMESTAMP(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("username", name="uq_users_username"),
        sa.CheckConstraint(_in_list("role", ROLES), name="ck_users_role"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", TIMESTAMP(), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("role", sa.String(32), nullable=True),
        sa.Column("patient_id", sa.String(32), nullable=True),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
        sa.UniqueConstraint("prev_hash", name="uq_audit_log_prev_hash"),
        sa.UniqueConstraint("hash", name="uq_audit_log_hash"),
        sa.CheckConstraint(_in_list("outcome", OUTCOMES), name="ck_audit_log_outcome"),
    )
    for column in ("at", "username", "patient_id"):
        op.create_index(f"ix_audit_log_{column}", "audit_log", [column])
    chain = op.create_table(
        "audit_chain",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_chain"),
    )
    op.bulk_insert(chain, [{"id": 1, "entries": 0, "head_hash": GENESIS_HASH}])
    create_triggers(op, "audit_log", "the audit log is append-only", truncate=True)


def downgrade() -> None:
    drop_triggers(op, "audit_log")
    op.drop_table("audit_chain")
    for column in ("at", "username", "patient_id"):
        op.drop_index(f"ix_audit_log_{column}", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_table("users")
