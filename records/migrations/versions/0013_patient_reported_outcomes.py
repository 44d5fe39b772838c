"""Patient-reported outcomes: schedules, one-time invitations, submissions, urgent alerts.

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-07

Four new tables start empty (see ``records.tables.proms``), and follow-up visits may now
come from the patient (``followup_visits.source = 'patient'``): the check constraint is
replaced (SQLite rebuilds the table in batch mode; every row is copied unchanged).
Values are written out as they were on this date (a migration is history).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0011"
branch_labels = None
depends_on = None

TIMESTAMP = lambda: sa.DateTime(timezone=True)  # noqa: E731
OLD_SOURCES = "source IN ('form', 'csv', 'fhir', 'sample')"
NEW_SOURCES = "source IN ('form', 'csv', 'fhir', 'sample', 'patient')"
CHECK = "ck_followup_visits_source"


def _patient(table: str) -> list[sa.SchemaItem]:
    return [sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("patient_pk", sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
            sa.ForeignKeyConstraint(["patient_pk"], ["patients.id"],
                                    name=f"fk_{table}_patient_pk")]


def _visit_sources(check: str) -> None:
    with op.batch_alter_table("followup_visits", recreate="auto") as batch:
        batch.drop_constraint(CHECK, type_="check")
        batch.create_check_constraint(CHECK, check)


def upgrade() -> None:
    op.create_table(
        "prom_schedules", *_patient("prom_schedules"),
        sa.Column("instruments", sa.JSON(), nullable=False),
        sa.Column("before_sessions", sa.Boolean(), nullable=False),
        sa.Column("weekly_induction", sa.Boolean(), nullable=False),
        sa.Column("followup_weeks", sa.JSON(), nullable=False),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("clinician", sa.String(64), nullable=True),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.Column("updated_at", TIMESTAMP(), nullable=False),
        sa.UniqueConstraint("patient_pk", name="uq_prom_schedules_patient_pk"))
    op.create_table(
        "prom_invitations", *_patient("prom_invitations"),
        sa.Column("instrument", sa.String(16), nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False),
        sa.Column("occasion", sa.String(64), nullable=True),
        sa.Column("clinician", sa.String(64), nullable=True),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", TIMESTAMP(), nullable=False),
        sa.Column("expires_at", TIMESTAMP(), nullable=False),
        sa.Column("used_at", TIMESTAMP(), nullable=True),
        sa.Column("sent_to", sa.String(254), nullable=True),
        sa.Column("sent_at", TIMESTAMP(), nullable=True),
        sa.Column("reminders_sent", sa.Integer(), nullable=False),
        sa.Column("last_reminder_at", TIMESTAMP(), nullable=True),
        sa.UniqueConstraint("token_sha256", name="uq_prom_invitations_token_sha256"))
    op.create_table(
        "prom_submissions", *_patient("prom_submissions"),
        sa.Column("invitation_id", sa.Integer(), nullable=False),
        sa.Column("instrument", sa.String(16), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("answered_at", TIMESTAMP(), nullable=False),
        sa.Column("followup_visit_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.ForeignKeyConstraint(["invitation_id"], ["prom_invitations.id"],
                                name="fk_prom_submissions_invitation_id"),
        sa.ForeignKeyConstraint(["followup_visit_id"], ["followup_visits.id"],
                                name="fk_prom_submissions_followup_visit_id"),
        sa.UniqueConstraint("invitation_id", name="uq_prom_submissions_invitation_id"))
    op.create_table(
        "prom_alerts", *_patient("prom_alerts"),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("clinician", sa.String(64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("grade", sa.String(16), nullable=False),
        sa.Column("raised_at", TIMESTAMP(), nullable=False),
        sa.Column("acknowledged_at", TIMESTAMP(), nullable=True),
        sa.Column("acknowledged_by", sa.String(64), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["submission_id"], ["prom_submissions.id"],
                                name="fk_prom_alerts_submission_id"),
        sa.UniqueConstraint("submission_id", name="uq_prom_alerts_submission_id"))
    for table in ("prom_invitations", "prom_submissions", "prom_alerts"):
        op.create_index(f"ix_{table}_patient_pk", table, ["patient_pk"])
    _visit_sources(NEW_SOURCES)


def downgrade() -> None:
    op.execute("DELETE FROM prom_alerts")
    op.execute("UPDATE prom_submissions SET followup_visit_id = NULL")
    op.execute("DELETE FROM followup_visits WHERE source = 'patient'")
    _visit_sources(OLD_SOURCES)
    for table in ("prom_alerts", "prom_submissions", "prom_invitations", "prom_schedules"):
        op.drop_table(table)
