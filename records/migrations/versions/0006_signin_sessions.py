"""Server-side sign-in sessions, and the e-mail / OIDC subject that single sign-on matches.

Revision ID: 0006
Revises: 0004
Create Date: 2026-11-27

Values are written out as they were on this date (a migration is history).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None

TIMESTAMP = lambda: sa.DateTime(timezone=True)  # noqa: E731
METHODS = ("password", "oidc")
END_REASONS = ("sign_out", "timeout", "revoked", "disabled")


def _in_list(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:  # SQLite cannot add a UNIQUE in place
        batch.add_column(sa.Column("email", sa.String(254), nullable=True))
        batch.add_column(sa.Column("sso_subject", sa.String(255), nullable=True))
        batch.create_unique_constraint("uq_users_email", ["email"])
        batch.create_unique_constraint("uq_users_sso_subject", ["sso_subject"])
    op.create_table(
        "signin_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("sso_login", sa.String(64), nullable=True),
        sa.Column("client", sa.String(200), nullable=True),
        sa.Column("created_at", TIMESTAMP(), nullable=False),
        sa.Column("last_seen_at", TIMESTAMP(), nullable=False),
        sa.Column("ended_at", TIMESTAMP(), nullable=True),
        sa.Column("end_reason", sa.String(16), nullable=True),
        sa.Column("ended_by", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_signin_sessions"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_signin_sessions_user_id"),
        sa.UniqueConstraint("token_sha256", name="uq_signin_sessions_token_sha256"),
        sa.CheckConstraint(_in_list("method", METHODS), name="ck_signin_sessions_method"),
        sa.CheckConstraint(f"end_reason IS NULL OR {_in_list('end_reason', END_REASONS)}",
                           name="ck_signin_sessions_end_reason"),
    )
    op.create_index("ix_signin_sessions_user_id", "signin_sessions", ["user_id"])
    op.create_index("ix_signin_sessions_ended_at", "signin_sessions", ["ended_at"])
    op.create_index("ix_signin_sessions_sso_login", "signin_sessions", ["sso_login"])


def downgrade() -> None:
    op.drop_table("signin_sessions")
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("uq_users_sso_subject", type_="unique")
        batch.drop_constraint("uq_users_email", type_="unique")
        batch.drop_column("sso_subject")
        batch.drop_column("email")
