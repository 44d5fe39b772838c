"""Predictions shown to clinicians (append-only) and training jobs (issue 14).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

Values are written out as they were on this date (a migration is history).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from records.tables.append_only import create_triggers, drop_triggers

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TIMESTAMP = lambda: sa.DateTime(timezone=True)  # noqa: E731
CONTEXTS = ("viewed", "decision", "report")
JOB_STATES = ("queued", "running", "done", "failed", "cancelled", "interrupted")


def _in_list(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "predictions_shown",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.String(32), nullable=False),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("inputs_sha256", sa.String(64), nullable=False),
        sa.Column("probabilities", sa.JSON(), nullable=False),
        sa.Column("intervals", sa.JSON(), nullable=True),
        sa.Column("context", sa.String(16), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("shown_at", TIMESTAMP(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_predictions_shown"),
        sa.CheckConstraint(_in_list("context", CONTEXTS), name="ck_predictions_shown_context"),
    )
    for column in ("patient_id", "model_version", "shown_at"):
        op.create_index(f"ix_predictions_shown_{column}", "predictions_shown", [column])
    create_triggers(op, "predictions_shown", "recorded predictions are append-only",
                    truncate=True)
    op.create_table(
        "training_jobs",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", TIMESTAMP(), nullable=False),
        sa.Column("started_at", TIMESTAMP(), nullable=True),
        sa.Column("finished_at", TIMESTAMP(), nullable=True),
        sa.Column("heartbeat_at", TIMESTAMP(), nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("description", sa.String(200), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("message", sa.String(200), nullable=False),
        sa.Column("log", sa.Text(), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("worker_pid", sa.Integer(), nullable=True),
        sa.Column("result_version", sa.String(64), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_training_jobs"),
        sa.CheckConstraint(_in_list("status", JOB_STATES), name="ck_training_jobs_status"),
    )
    for column in ("created_by", "created_at"):
        op.create_index(f"ix_training_jobs_{column}", "training_jobs", [column])


def downgrade() -> None:
    op.drop_table("training_jobs")
    drop_triggers(op, "predictions_shown")
    op.drop_table("predictions_shown")
