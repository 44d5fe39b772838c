"""Initial clinical store: patients, treatment plans, sessions, decisions.

Revision ID: 0001
Revises:
Create Date: 2026-11-25

Columns are written out as they were in ``models.contract.schema`` on this date, on purpose: a
migration is history and must not change when the schema does. A feature added later gets
its own revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from records.tables.append_only import create_triggers, drop_triggers

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

INT, FLOAT, BOOL, CAT = sa.Integer, sa.Float, sa.Boolean, lambda: sa.String(32)
TIMESTAMP = lambda: sa.DateTime(timezone=True)  # noqa: E731

PATIENT_FEATURES = [
    ("age", INT), ("sex", CAT), ("bmi", FLOAT), ("primary_diagnosis", CAT),
    ("dx_trd", BOOL), ("dx_chronic_anxiety", BOOL), ("dx_ptsd", BOOL),
    ("dx_suicidality", BOOL), ("dx_chronic_pain", BOOL), ("anxious_depression", BOOL),
    ("phq9_baseline", INT), ("gad7_baseline", INT), ("pcl5_baseline", INT),
    ("cssrs_baseline", INT), ("failed_ad_trials", INT), ("prior_ect", BOOL),
    ("past_suicide_attempt", BOOL), ("family_history_aud", BOOL), ("substance_use", CAT),
    ("psychosis_history", BOOL), ("ace_score", INT), ("systolic_bp", INT),
    ("diastolic_bp", INT), ("heart_rate", INT), ("hypertension", CAT),
    ("heart_disease", CAT), ("liver_disease", CAT), ("vascular_contraindication", BOOL),
    ("raised_icp", BOOL), ("pregnant", BOOL), ("maoi", BOOL), ("stimulant", BOOL),
    ("opioid", BOOL), ("support_system", CAT), ("benzo_dose_mg", FLOAT),
    ("route", CAT), ("dose_mg_per_kg", FLOAT), ("psychotherapy", CAT),
    ("sessions_per_week", INT), ("planned_sessions", INT),
]
PLAN_FIELDS = ["route", "dose_mg_per_kg", "psychotherapy", "sessions_per_week",
               "planned_sessions"]
SESSION_FIELDS = [  # (name, type, nullable)
    ("session_number", INT, False), ("day", INT, False), ("route", CAT, False),
    ("dose_mg_per_kg", FLOAT, False), ("phq9", INT, False), ("phq9_item9", INT, False),
    ("gad7", INT, False), ("pcl5", INT, True), ("cssrs", INT, False),
    ("sbp_pre", INT, False), ("dbp_pre", INT, False), ("hr_pre", INT, False),
    ("sbp_post", INT, False), ("dbp_post", INT, False), ("hr_post", INT, False),
    ("cadss", INT, False), ("nausea", BOOL, False), ("vomiting", BOOL, False),
    ("headache", BOOL, False), ("dizziness", BOOL, False), ("sedation", BOOL, False),
    ("minutes_to_discharge", INT, False), ("dropout_after", BOOL, False),
]
CATEGORIES = {
    "sex": ("female", "male"),
    "primary_diagnosis": ("trd", "chronic_anxiety", "ptsd", "suicidality", "chronic_pain"),
    "substance_use": ("none", "remission", "active"),
    "hypertension": ("none", "controlled", "uncontrolled"),
    "heart_disease": ("none", "stable", "severe"),
    "liver_disease": ("none", "mild", "severe"),
    "support_system": ("weak", "moderate", "strong"),
    "route": ("iv", "im", "intranasal_esketamine", "oral_sublingual"),
    "psychotherapy": ("none", "supportive", "integrated"),
}
DECISIONS = ("proceed", "proceed_with_cautions", "do_not_proceed")


def _in_list(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _checks(table: str, columns: list[str]) -> list[sa.CheckConstraint]:
    return [sa.CheckConstraint(_in_list(c, CATEGORIES[c]), name=f"ck_{table}_{c}")
            for c in columns if c in CATEGORIES]


def _patient_fk(table: str) -> list[sa.SchemaItem]:
    return [sa.Column("patient_pk", sa.Integer(), nullable=False),
            sa.ForeignKeyConstraint(["patient_pk"], ["patients.id"],
                                    name=f"fk_{table}_patient_pk")]


def upgrade() -> None:
    features = [name for name, _ in PATIENT_FEATURES]
    op.create_table(
        "patients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        *[sa.Column(name, kind(), nullable=False) for name, kind in PATIENT_FEATURES],
        sa.Column("is_synthetic", sa.Boolean(), nullable=False),
        sa.Column("created_at", TIMESTAMP(), nullable=False),
        sa.Column("updated_at", TIMESTAMP(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_patients"),
        sa.UniqueConstraint("patient_id", name="uq_patients_patient_id"),
        *_checks("patients", features),
    )
    kinds = dict(PATIENT_FEATURES)
    op.create_table(
        "treatment_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        *_patient_fk("treatment_plans"),
        *[sa.Column(name, kinds[name](), nullable=False) for name in PLAN_FIELDS],
        sa.Column("created_at", TIMESTAMP(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_treatment_plans"),
        *_checks("treatment_plans", PLAN_FIELDS),
    )
    op.create_index("ix_treatment_plans_patient_pk", "treatment_plans", ["patient_pk"])
    op.create_table(
        "sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        *_patient_fk("sessions"),
        *[sa.Column(name, kind(), nullable=null) for name, kind, null in SESSION_FIELDS],
        sa.Column("concomitant_medications", sa.Text(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("recorded_at", TIMESTAMP(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sessions"),
        sa.UniqueConstraint("patient_pk", "session_number",
                            name="uq_sessions_patient_pk_session_number"),
        *_checks("sessions", [name for name, _, _ in SESSION_FIELDS]),
    )
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        *_patient_fk("decisions"),
        sa.Column("decision", sa.String(32), nullable=False),
        sa.Column("suggested", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("clinician", sa.String(200), nullable=False),
        sa.Column("model_version", sa.String(64), nullable=True),
        sa.Column("created_at", TIMESTAMP(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_decisions"),
        sa.CheckConstraint(_in_list("decision", DECISIONS), name="ck_decisions_decision"),
        sa.CheckConstraint(_in_list("suggested", DECISIONS), name="ck_decisions_suggested"),
    )
    op.create_index("ix_decisions_patient_pk", "decisions", ["patient_pk"])
    _append_only_triggers()


def _append_only_triggers() -> None:
    """Make the database itself refuse UPDATE/DELETE on decisions, whoever connects."""
    create_triggers(op, "decisions", "decisions are append-only: record a new decision instead")


def downgrade() -> None:
    drop_triggers(op, "decisions")
    op.drop_index("ix_decisions_patient_pk", table_name="decisions")
    op.drop_table("decisions")
    op.drop_table("sessions")
    op.drop_index("ix_treatment_plans_patient_pk", table_name="treatment_plans")
    op.drop_table("treatment_plans")
    op.drop_table("patients")
