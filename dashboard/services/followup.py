"""Data side of the durability view: follow-up records, survival curves, plan risks, alerts.

No Streamlit here (``dashboard.widgets.durability`` renders what these return), so every number on
the view is computed and tested without a browser. Follow-up lives in ``followup.csv`` /
``followup_sessions.csv`` beside the cohort (``KAPCDS_FOLLOWUP_DIR`` overrides the folder),
keyed by the same patient ids as the store seeded from that cohort.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from lifelines import KaplanMeierFitter

from base import settings
from models.followup_alerts import (
    ALERT_COLUMNS,
    DEFAULT_THRESHOLDS,
    FollowupThresholds,
    followup_alerts,
)
from models.followup_schema import (
    MAINTENANCE_SCHEDULES,
    RELAPSE_ABOVE,
    RELAPSE_HORIZON_WEEKS,
    SCREENS,
    schedule_label,
)
from models.relapse import RelapseModel
from models.schema import ID_COLUMN

log = logging.getLogger(__name__)

FILES = ("followup.csv", "followup_sessions.csv")


@dataclass(frozen=True)
class FollowupData:
    """Per-patient follow-up (``followup``) and every visit/maintenance row (``visits``)."""

    followup: pd.DataFrame  # indexed by patient_id
    visits: pd.DataFrame


def followup_dir() -> Path:
    """Where the follow-up files are read from (default: the shipped synthetic sample)."""
    return Path(os.environ.get("KAPCDS_FOLLOWUP_DIR") or settings.DATA_SAMPLES_DIR)


def files_stamp(folder: Path | str) -> tuple[float, ...]:
    """Modification times of the two files: a cache key that changes when they do."""
    return tuple((Path(folder) / name).stat().st_mtime if (Path(folder) / name).is_file()
                 else 0.0 for name in FILES)


def read_followup(folder: Path | str | None = None) -> FollowupData | None:
    """Both follow-up files, validated; None when the folder has no follow-up."""
    from training.data import load_followup

    folder = Path(folder or followup_dir())
    followup = load_followup(folder)
    visits = load_followup(folder, sessions=True)
    if followup is None or visits is None:
        log.info("no follow-up files in %s", folder)
        return None
    return FollowupData(followup.set_index(ID_COLUMN, drop=False), visits)


def survival_curves(followup: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Kaplan–Meier curve with 95 % CI of time to relapse per plan (followed responders).

    Each frame: ``day``, ``survival``, ``lo``, ``hi``, ``at_risk``; attrs hold ``n`` and
    ``median`` (days, inf when more than half never relapsed).
    """
    rows = followup[followup["series_completed"].astype(bool)
                    & followup["responder"].astype(bool)
                    & followup["days_to_relapse"].notna()]
    curves: dict[str, pd.DataFrame] = {}
    for plan in MAINTENANCE_SCHEDULES:
        group = rows[rows["maintenance_schedule"] == plan]
        if len(group) < 2:
            continue
        fit = KaplanMeierFitter(label=plan).fit(group["days_to_relapse"].astype(float),
                                                group["relapse"].astype(bool))
        ci = fit.confidence_interval_survival_function_
        frame = pd.DataFrame({"day": fit.survival_function_.index.to_numpy(float),
                              "survival": fit.survival_function_[plan].to_numpy(),
                              "lo": ci.iloc[:, 0].to_numpy(), "hi": ci.iloc[:, 1].to_numpy(),
                              "at_risk": fit.event_table["at_risk"].to_numpy()})
        frame.attrs.update(n=int(len(group)), median=float(fit.median_survival_time_))
        curves[plan] = frame
    return curves


def durability_table(followup: pd.DataFrame) -> pd.DataFrame:
    """Per plan: responders followed, relapses, KM median days, relapse within 8 weeks."""
    curves = survival_curves(followup)
    rows = []
    for plan, curve in curves.items():
        group = followup[(followup["maintenance_schedule"] == plan)
                         & followup["series_completed"].astype(bool)
                         & followup["responder"].astype(bool)]
        known = group["relapse_8w"].dropna().astype(bool)
        median = curve.attrs["median"]
        rows.append({"Maintenance plan": schedule_label(plan), "Responders": len(group),
                     "Relapses": int(group["relapse"].astype(bool).sum()),
                     "Median days to relapse": None if median == float("inf") else median,
                     f"Relapse within {RELAPSE_HORIZON_WEEKS} weeks":
                         f"{known.mean():.0%}" if len(known) else "—"})
    return pd.DataFrame(rows)


def series_end(patient_id: str, data: FollowupData | None,
               sessions: pd.DataFrame | None = None,
               planned_sessions: int | None = None) -> dict[str, object] | None:
    """End of the induction series for one patient: PHQ-9, completed, current plan.

    Recorded sessions (the store) win over the follow-up file when they show a completed
    series, since a clinician may have recorded sessions since the file was written.
    """
    if sessions is not None and len(sessions) and planned_sessions:
        ordered = sessions.sort_values("session_number")
        if len(ordered) >= planned_sessions:
            plan = _plan_of(patient_id, data)
            return {"phq9_end_of_series": int(ordered["phq9"].iloc[-1]),
                    "series_completed": True, "maintenance_schedule": plan}
    if data is None or patient_id not in data.followup.index:
        return None
    row = data.followup.loc[patient_id]
    return {"phq9_end_of_series": int(row["phq9_end_of_series"]),
            "series_completed": bool(row["series_completed"]),
            "maintenance_schedule": _plan_of(patient_id, data)}


def _plan_of(patient_id: str, data: FollowupData | None) -> str:
    if data is None or patient_id not in data.followup.index:
        return "none"
    plan = data.followup.loc[patient_id, "maintenance_schedule"]
    return plan if isinstance(plan, str) and plan else "none"


def plan_risks(relapse: RelapseModel, patient: pd.Series,
               end: dict[str, object]) -> pd.DataFrame | None:
    """Predicted relapse within 8 weeks under each plan; None unless a completed responder.

    Columns: ``plan``, ``label``, ``probability``, ``current`` (the patient's own plan).
    """
    end_phq9 = float(end["phq9_end_of_series"])  # type: ignore[arg-type]
    responded = end_phq9 <= float(patient["phq9_baseline"]) * RELAPSE_ABOVE
    if not (end.get("series_completed") and responded):
        return None
    row = patient.to_frame().T.infer_objects().assign(
        phq9_end_of_series=end["phq9_end_of_series"])
    risks = relapse.predict_by_schedule(row).iloc[0]
    return pd.DataFrame({"plan": list(MAINTENANCE_SCHEDULES),
                         "label": [schedule_label(p) for p in MAINTENANCE_SCHEDULES],
                         "probability": [float(risks[p]) for p in MAINTENANCE_SCHEDULES],
                         "current": [p == end["maintenance_schedule"]
                                     for p in MAINTENANCE_SCHEDULES]})


def patient_visits(data: FollowupData | None, patient_id: str) -> pd.DataFrame:
    """One patient's follow-up rows in time order (empty frame when none)."""
    if data is None:
        return pd.DataFrame()
    rows = data.visits[data.visits[ID_COLUMN] == patient_id]
    return rows.sort_values(["day_after_series", "kind"], kind="stable").reset_index(drop=True)


def exposure_timeline(visits: pd.DataFrame) -> pd.DataFrame:
    """Cumulative sessions and mg/kg by day after the series (from visits and sessions)."""
    if visits.empty:
        return pd.DataFrame(columns=["day_after_series", "cumulative_sessions",
                                     "cumulative_mg_per_kg", "kind"])
    return visits[["day_after_series", "cumulative_sessions", "cumulative_mg_per_kg",
                   "kind"]].reset_index(drop=True)


def screen_results(visits: pd.DataFrame) -> pd.DataFrame:
    """The long-term screens at the weeks they were taken (rows with any screen value)."""
    if visits.empty:
        return pd.DataFrame(columns=["week", "day_after_series", *SCREENS])
    rows = visits[visits["kind"] == "followup"]
    rows = rows[rows[list(SCREENS)].notna().any(axis=1)]
    return rows[["week", "day_after_series", *SCREENS]].reset_index(drop=True)


def patient_alerts(visits: pd.DataFrame,
                   thresholds: FollowupThresholds = DEFAULT_THRESHOLDS) -> pd.DataFrame:
    """Exposure and screen alerts for one patient's follow-up rows."""
    if visits.empty:
        return pd.DataFrame(columns=ALERT_COLUMNS)
    return followup_alerts(visits, thresholds)


def cohort_alert_counts(data: FollowupData,
                        thresholds: FollowupThresholds = DEFAULT_THRESHOLDS) -> pd.DataFrame:
    """Patients with each kind of long-term alert, most common first."""
    alerts = followup_alerts(data.visits, thresholds)
    counts = alerts.groupby("kind")[ID_COLUMN].nunique().sort_values(ascending=False)
    return pd.DataFrame({"Alert": counts.index, "Patients": counts.to_numpy()})
