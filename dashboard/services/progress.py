"""Treatment progress for one patient: sessions, the expected PHQ-9 band, status and alerts.

No Streamlit here; the Treatment progress page renders what ``patient_progress`` returns.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from dashboard.services.gaps import GAPS, PREDICTION_GAPS, needs_message
from dashboard.services.patients import patient_row
from dashboard.services.workspace import Workspace
from models.schema import FEATURES, NAME_COLUMN, SESSION_FIELDS, feature
from models.session_alerts import Alert, response_status, session_alerts
from records.db import session_factory
from records.repository import sessions_frame

log = logging.getLogger(__name__)

# Form defaults for a first session, from clinical-reference §5-style typical values
# (the schema has no session defaults; these are placeholders the clinician overwrites).
_FIRST_SESSION = {"sbp_pre": 120, "dbp_pre": 78, "hr_pre": 72, "sbp_post": 130,
                  "dbp_post": 82, "hr_post": 80, "cadss": 0, "minutes_to_discharge": 120,
                  "phq9_item9": 0, "cssrs": 0}
_SIDE_EFFECTS = ("nausea", "vomiting", "headache", "dizziness", "sedation")


@dataclass
class Progress:
    """What the Treatment progress page shows for one patient."""

    patient_id: str
    name: str
    baseline_phq9: float
    planned_sessions: int
    plan: str
    sessions: pd.DataFrame
    band: pd.DataFrame  # session_number, q10, q50, q90
    alerts: list[Alert]
    status: str
    next_session: dict[str, Any] = field(default_factory=dict)


def _plan_text(row: pd.Series) -> str:
    """The treatment plan in words; a plan field stored as a gap is named as not recorded."""
    missing = set(row.get(GAPS, []) or [])

    def shown(name: str, text: str) -> str:
        return f"{feature(name).label.lower()} not recorded" if name in missing else text

    parts = [shown(n, feature(n).format_value(row[n])) for n in ("route", "dose_mg_per_kg")]
    parts.append(shown("sessions_per_week", f"{int(row['sessions_per_week'])}×/week"))
    parts.append(shown("planned_sessions", f"{int(row['planned_sessions'])} sessions planned"))
    parts.append(shown("psychotherapy", "psychotherapy: "
                       f"{feature('psychotherapy').format_value(row['psychotherapy'])}"))
    return ", ".join(parts)


def next_session_defaults(row: pd.Series, sessions: pd.DataFrame) -> dict[str, Any]:
    """Form values for the next session: number and day follow on, the rest repeat the last.

    Route and dose come from the current treatment plan; the clinician edits the rest.
    """
    values: dict[str, Any] = {
        "session_number": 1, "day": 0, "route": row["route"],
        "dose_mg_per_kg": float(row["dose_mg_per_kg"]), "phq9": int(row["phq9_baseline"]),
        "gad7": int(row["gad7_baseline"]), "pcl5": int(row["pcl5_baseline"]),
        **_FIRST_SESSION, **{name: False for name in (*_SIDE_EFFECTS, "dropout_after")},
    }
    if not sessions.empty:
        last = sessions.sort_values("session_number").iloc[-1]
        for spec in SESSION_FIELDS:
            if spec.name in last.index and spec.name != "patient_id":
                value = last[spec.name]
                values[spec.name] = None if pd.isna(value) else value
        gap = max(1, round(7 / max(1, int(row["sessions_per_week"]))))
        values["session_number"] = int(last["session_number"]) + 1
        values["day"] = int(last["day"]) + gap
        values["route"], values["dose_mg_per_kg"] = row["route"], float(row["dose_mg_per_kg"])
        values.update({name: False for name in (*_SIDE_EFFECTS, "dropout_after")})
    return values


def patient_sessions(ws: Workspace, patient_id: str) -> pd.DataFrame:
    """One patient's sessions in session order (schema columns plus notes)."""
    with session_factory(ws.engine)() as session:
        return sessions_frame(session, patient_id)


def patient_progress(ws: Workspace, cohort: pd.DataFrame, patient_id: str) -> Progress:
    """Sessions, the trajectory model's expected PHQ-9 band, response status and §5 alerts."""
    row = patient_row(cohort, patient_id)
    sessions = patient_sessions(ws, patient_id)
    last = int(sessions["session_number"].max()) if not sessions.empty else 0
    n_band = max(int(row["planned_sessions"]), last)
    inputs = cohort.loc[[patient_id], [f.name for f in FEATURES]]
    band = ws.model_set.trajectory.predict_band(inputs, n_band)
    baseline = float(row["phq9_baseline"])
    status = response_status(baseline, sessions)
    needs = list(row.get(PREDICTION_GAPS, []) or [])
    if needs:  # issue 7: no expected course from placeholders
        band = band.iloc[0:0]
        status = f"{status} · expected course hidden: {needs_message(needs)}"
    return Progress(
        patient_id=patient_id, name=str(row[NAME_COLUMN]), baseline_phq9=baseline,
        planned_sessions=int(row["planned_sessions"]), plan=_plan_text(row), sessions=sessions,
        band=band, alerts=session_alerts(patient_id, baseline, sessions),
        status=status,
        next_session=next_session_defaults(row, sessions))


def sessions_table(sessions: pd.DataFrame) -> pd.DataFrame:
    """Sessions with clinical column labels (units in the header) for display."""
    labels = {}
    for spec in SESSION_FIELDS:
        if spec.name in sessions.columns and spec.name != "patient_id":
            labels[spec.name] = f"{spec.label} ({spec.unit})" if spec.unit else spec.label
    table = sessions[list(labels)].copy()
    if "route" in table:
        table["route"] = table["route"].map(feature("route").category_label)
    return table.rename(columns=labels).reset_index(drop=True)
