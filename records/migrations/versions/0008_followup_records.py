"""Follow-up visits, maintenance plans, sample maintenance doses; a phase on sessions (issue 13).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02

Existing data is kept and nothing is invented for it:

- ``sessions.phase`` is ``'induction'`` for every existing session. This is a fact, not a
  guess: before this revision the store (forms, CSV and FHIR imports, the sample) could only
  record induction sessions, so every stored session is one.
- The three new tables start empty. Follow-up that lived in ``data_samples/followup*.csv``
  is seeded by the application on first start (``records.followup_seed``), not here.

Values are written out as they were on this date (a migration is history).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TIMESTAMP = lambda: sa.DateTime(timezone=True)  # noqa: E731
SCHEDULES = ("none", "weekly", "every_two_weeks", "as_needed")
ROUTES = ("iv", "im", "intranasal_esketamine", "oral_sublingual")
SOURCES = ("form", "csv", "fhir", "sample")
PHASE_CHECK = "phase IN ('induction', 'maintenance')"


def _in_list(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _common(table: str) -> list[sa.SchemaItem]:
    """Columns and constraints every new table has: id, patient, provenance."""
    return [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_pk", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("is_synthetic", sa.Boolean(), nullable=False),
        sa.Column("recorded_at", TIMESTAMP(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
        sa.ForeignKeyConstraint(["patient_pk"], ["patients.id"],
                                name=f"fk_{table}_patient_pk"),
        sa.CheckConstraint(_in_list("source", SOURCES), name=f"ck_{table}_source"),
    ]


def upgrade() -> None:
    op.create_table(
        "followup_visits", *_common("followup_visits"),
        sa.Column("visit_at", TIMESTAMP(), nullable=True),
        sa.Column("day_after_series", sa.Integer(), nullable=False),
        *[sa.Column(name, sa.Integer(), nullable=True)
          for name in ("phq9", "gad7", "craving_score", "moca", "blunting_score")],
        sa.Column("urinary_symptoms", sa.Boolean(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.String(64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_table(
        "maintenance_plans", *_common("maintenance_plans"),
        sa.Column("schedule", sa.String(32), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.String(64), nullable=True),
        sa.CheckConstraint(_in_list("schedule", SCHEDULES),
                           name="ck_maintenance_plans_schedule"),
    )
    op.create_table(
        "followup_doses", *_common("followup_doses"),
        sa.Column("dose_at", TIMESTAMP(), nullable=True),
        sa.Column("day_after_series", sa.Integer(), nullable=False),
        sa.Column("route", sa.String(32), nullable=False),
        sa.Column("dose_mg_per_kg", sa.Float(), nullable=False),
        sa.CheckConstraint(_in_list("route", ROUTES), name="ck_followup_doses_route"),
    )
    for table in ("followup_visits", "maintenance_plans", "followup_doses"):
        op.create_index(f"ix_{table}_patient_pk", table, ["patient_pk"])
    if op.get_bind().dialect.name == "sqlite":  # a column CHECK, added in place
        op.execute("ALTER TABLE sessions ADD COLUMN phase VARCHAR(16) DEFAULT 'induction' "
                   f"NOT NULL CONSTRAINT ck_sessions_phase CHECK ({PHASE_CHECK})")
    else:
        op.add_column("sessions", sa.Column("phase", sa.String(16), nullable=False,
                                            server_default="induction"))
        op.create_check_constraint("ck_sessions_phase", "sessions", PHASE_CHECK)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint("ck_sessions_phase", "sessions", type_="check")
        op.drop_column("sessions", "phase")
    else:  # a rebuild (0019 and later) made the column CHECK a table CHECK: rebuild again
        with op.batch_alter_table("sessions", recreate="always") as batch:
            batch.drop_constraint("ck_sessions_phase", type_="check")
            batch.drop_column("phase")
    for table in ("followup_doses", "maintenance_plans", "followup_visits"):
        op.drop_table(table)
