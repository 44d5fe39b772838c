"""Follow-up after the induction series: maintenance plan, relapse, exposure and screens.

Kept apart from ``models.contract.schema`` on purpose: FEATURES feeds the schema hash and every
outcome model's inputs, and adding the maintenance plan there would invalidate every
registered model. The relapse model reads these definitions instead (GitHub issue 8).
"""

from __future__ import annotations

from models.contract.schema import RESPONSE_DROP, Feature, Outcome, SessionField
from models.contract.schema import feature as schema_feature

MAINTENANCE_SCHEDULES = ("none", "weekly", "every_two_weeks", "as_needed")
MAINTENANCE_LABELS = ("no maintenance", "weekly", "every two weeks", "as needed")

FOLLOWUP_WEEKS = 12  # weekly PHQ-9 follow-up visits after the last induction session
RELAPSE_HORIZON_WEEKS = 8  # the relapse model predicts relapse within 8 weeks
SCREEN_WEEKS = (0, 4, 8, 12)  # long-term screens: end of series, then every 4 weeks
RELAPSE_ABOVE = 1 - RESPONSE_DROP  # relapse: PHQ-9 back above 50 % of baseline ...
RELAPSE_CONSECUTIVE = 2  # ... on two consecutive follow-up visits

FOLLOWUP_FEATURES: tuple[Feature, ...] = (
    Feature("maintenance_schedule", "category", "Maintenance plan", "Ketamine sessions "
            "after the induction series. Weekly maintenance held the gains (Phillips 2019); "
            "esketamine maintenance halved relapse (SUSTAIN-1, HR 0.49).", "treatment",
            "none", categories=MAINTENANCE_SCHEDULES, category_labels=MAINTENANCE_LABELS,
            modifiable=True),
    Feature("phq9_end_of_series", "int", "PHQ-9 at end of series", "PHQ-9 at the last "
            "session of the induction series; residual symptoms make relapse likelier.",
            "scales", 8, "points", 0, 27),
)

RELAPSE = Outcome(
    "relapse", "Relapse within 8 weeks", "Among responders after a completed induction "
    "series: PHQ-9 back above 50 % of baseline on two consecutive weekly follow-ups, the "
    "first of them within 8 weeks of the last induction session.", "risk", "relapse")

# Columns of followup_sessions.csv: one row per follow-up visit or maintenance session.
FOLLOWUP_FIELDS: tuple[SessionField, ...] = (
    SessionField("patient_id", "category", "Patient"),
    SessionField("kind", "category", "Visit", categories=("followup", "maintenance")),
    SessionField("week", "int", "Follow-up week", "weeks after the series", 0,
                 FOLLOWUP_WEEKS),
    SessionField("day_after_series", "int", "Day", "days after the last induction session",
                 0, 7 * FOLLOWUP_WEEKS + 7),
    SessionField("route", "category", "Route", nullable=True,
                 categories=schema_feature("route").categories),
    SessionField("dose_mg_per_kg", "float", "Dose", "mg/kg", 0.05, 3.0, nullable=True,
                 help="Ketamine maintenance dose; empty for intranasal esketamine."),
    SessionField("esketamine_dose_mg", "float", "Esketamine dose", "mg", 28, 84, nullable=True,
                 help="Intranasal esketamine maintenance dose: 28, 56 or 84 mg, never per kg."),
    SessionField("phq9", "int", "PHQ-9", "points", 0, 27, nullable=True),
    SessionField("craving_score", "int", "Craving/dependency score", "points", 0, 10,
                 nullable=True, help="0–10 self-rating of craving for ketamine "
                 "(*unsourced* scale)."),
    SessionField("moca", "int", "Cognitive screen (MoCA)", "points", 0, 30, nullable=True,
                 help="Montreal Cognitive Assessment, 0–30."),
    SessionField("blunting_score", "int", "Emotional blunting", "points", 0, 10,
                 nullable=True, help="0–10 self-rating of emotional blunting "
                 "(*unsourced* scale)."),
    SessionField("urinary_symptoms", "bool", "Urinary symptoms", nullable=True,
                 help="Frequency, urgency or pain on passing urine (ketamine cystitis)."),
    SessionField("cumulative_sessions", "int", "Sessions so far", "sessions", 0, 60),
    SessionField("cumulative_mg_per_kg", "float", "Cumulative dose", "mg/kg", 0, 200,
                 help="Ketamine sessions only (esketamine is counted in mg, not per kg)."),
    SessionField("cumulative_esketamine_mg", "float", "Cumulative esketamine", "mg", 0, 6000,
                 help="Intranasal esketamine sessions only."),
)

# Columns of followup.csv: one row per patient.
FOLLOWUP_PATIENT_FIELDS: tuple[SessionField, ...] = (
    SessionField("patient_id", "category", "Patient"),
    SessionField("series_completed", "bool", "Series completed"),
    SessionField("maintenance_schedule", "category", "Maintenance plan",
                 categories=MAINTENANCE_SCHEDULES, nullable=True),
    SessionField("phq9_end_of_series", "int", "PHQ-9 at end of series", "points", 0, 27),
    SessionField("responder", "bool", "Responder"),
    SessionField("followup_weeks", "int", "Weeks followed", "weeks", 0, FOLLOWUP_WEEKS),
    SessionField("lost_to_followup", "bool", "Lost to follow-up", nullable=True),
    SessionField("relapse", "bool", "Relapse", nullable=True,
                 help="Responders only; event indicator for days_to_relapse."),
    SessionField("days_to_relapse", "int", "Days to relapse or censoring", "days", 0,
                 7 * FOLLOWUP_WEEKS + 7, nullable=True),
    SessionField("relapse_8w", "bool", "Relapse within 8 weeks", nullable=True,
                 help="Empty for non-responders and for responders lost before week 8."),
    SessionField("maintenance_sessions", "int", "Maintenance sessions", "sessions", 0, 40,
                 nullable=True),
    SessionField("total_sessions", "int", "Total sessions", "sessions", 0, 60),
    SessionField("total_mg_per_kg", "float", "Cumulative dose", "mg/kg", 0, 200,
                 help="Ketamine sessions only (esketamine is counted in mg, not per kg)."),
    SessionField("total_esketamine_mg", "float", "Cumulative esketamine", "mg", 0, 6000,
                 help="Intranasal esketamine sessions only."),
    SessionField("maintenance_per_week", "float", "Maintenance sessions per week",
                 "per week", 0, 7, nullable=True),
    SessionField("craving_score", "int", "Craving/dependency score (last)", "points", 0, 10,
                 nullable=True),
    SessionField("moca", "int", "MoCA (last)", "points", 0, 30, nullable=True),
    SessionField("blunting_score", "int", "Emotional blunting (last)", "points", 0, 10,
                 nullable=True),
    SessionField("urinary_symptoms", "bool", "Urinary symptoms (last)", nullable=True),
)

SCREENS = ("craving_score", "moca", "blunting_score", "urinary_symptoms")


def followup_feature(name: str) -> Feature:
    """A follow-up input, falling back to the main schema (so callers need one lookup)."""
    for item in FOLLOWUP_FEATURES:
        if item.name == name:
            return item
    return schema_feature(name)


def followup_field(name: str) -> SessionField:
    """A column of followup_sessions.csv or followup.csv, by name."""
    for item in (*FOLLOWUP_FIELDS, *FOLLOWUP_PATIENT_FIELDS):
        if item.name == name:
            return item
    raise KeyError(f"unknown follow-up field {name!r}")


def schedule_label(code: str) -> str:
    """Clinical wording of a maintenance schedule code."""
    return followup_feature("maintenance_schedule").category_label(code)


def followup_field_names() -> list[str]:
    """Columns of followup_sessions.csv in order."""
    return [f.name for f in FOLLOWUP_FIELDS]


def followup_patient_field_names() -> list[str]:
    """Columns of followup.csv in order."""
    return [f.name for f in FOLLOWUP_PATIENT_FIELDS]
