"""Data side of the durability view: follow-up records, survival curves, plan risks, alerts.

No Streamlit here (``dashboard.widgets.patients.durability`` renders what these return), so
every number on
the view is computed and tested without a browser. Everything comes from the store: visits,
maintenance doses and sessions, and plans (``records.followup.frames``), laid out and
summarised by ``models.clinical.followup_summary`` (relapse by the reference's definition). The
shipped sample follow-up is in the store because it was seeded there on first start; no CSV
is read here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import Engine

from models.clinical.followup_alerts import (
    ALERT_COLUMNS,
    DEFAULT_THRESHOLDS,
    FollowupThresholds,
    followup_alerts,
)
from models.clinical.followup_summary import exposure_by_route, followup_rows, followup_summary
from models.contract.followup_schema import (
    MAINTENANCE_SCHEDULES,
    RELAPSE_ABOVE,
    RELAPSE_HORIZON_WEEKS,
    SCREENS,
    schedule_label,
)
from models.contract.schema import ID_COLUMN
from models.learners.relapse import RelapseModel
from records.db import session_factory
from records.followup.frames import doses_frame, followup_stamp, plans_frame, visits_frame
from records.frames import maintenance_patients, patients_frame, sessions_frame

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FollowupData:
    """Per-patient follow-up (``followup``), every visit/dose row (``visits``) and the
    stored sessions (``sessions``, for exposure by route)."""

    followup: pd.DataFrame  # indexed by patient_id
    visits: pd.DataFrame
    sessions: pd.DataFrame = field(default_factory=pd.DataFrame)


def store_stamp(engine: Engine) -> tuple[int, ...]:
    """A cache key that changes whenever follow-up or a session is recorded or corrected."""
    with session_factory(engine)() as session:
        return followup_stamp(session)


def load_followup(engine: Engine, patient_id: str | None = None) -> FollowupData | None:
    """The store's follow-up (or one patient's), summarised; None when there is none.

    Only patients with a visit, dose, plan or maintenance session are in follow-up, so
    only their rows and sessions are read (a 100,000-patient store with few in follow-up
    no longer reads every session: 14 s before, issue 18); every summary column of a
    patient depends on that patient's records alone, so one patient's summary equals its
    row of the whole store's (tested).
    """
    with session_factory(engine)() as session:
        visits, doses = visits_frame(session, patient_id), doses_frame(session, patient_id)
        plans = plans_frame(session, patient_id)
        if patient_id is None:
            followed = sorted(set(visits[ID_COLUMN]) | set(doses[ID_COLUMN])
                              | set(plans[ID_COLUMN]) | set(maintenance_patients(session)))
        else:
            followed = [patient_id]
        patients = patients_frame(session, patient_ids=followed)
        sessions = sessions_frame(session, patient_ids=followed)
    maintenance = (sessions["phase"] == "maintenance").any() if len(sessions) else False
    if visits.empty and doses.empty and plans.empty and not maintenance:
        log.info("no follow-up records%s", f" for {patient_id}" if patient_id else "")
        return None
    rows = followup_rows(sessions, visits, doses)
    summary = followup_summary(patients, sessions, rows, plans)
    return FollowupData(summary, rows, sessions)


def survival_curves(followup: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Kaplan–Meier curve with 95 % CI of time to relapse per plan (followed responders).

    Each frame: ``day``, ``survival``, ``lo``, ``hi``, ``at_risk``; attrs hold ``n`` and
    ``median`` (days, inf when more than half never relapsed).
    """
    # imported here: lifelines takes ~2 s to import, and only this curve needs it
    from lifelines import KaplanMeierFitter

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

    From the stored follow-up summary when the patient is in follow-up, else from the
    patient's recorded induction sessions (complete once the planned number is reached).
    """
    if data is not None and patient_id in data.followup.index:
        row = data.followup.loc[patient_id]
        if not pd.isna(row["phq9_end_of_series"]):
            return {"phq9_end_of_series": int(row["phq9_end_of_series"]),
                    "series_completed": bool(row["series_completed"]),
                    "maintenance_schedule": _plan_of(patient_id, data)}
    if sessions is not None and len(sessions) and planned_sessions:
        ordered = sessions.sort_values("session_number")
        if "phase" in ordered:
            ordered = ordered[ordered["phase"].fillna("induction") == "induction"]
        if len(ordered):
            return {"phq9_end_of_series": int(ordered["phq9"].iloc[-1]),
                    "series_completed": len(ordered) >= planned_sessions,
                    "maintenance_schedule": _plan_of(patient_id, data)}
    return None


def _plan_of(patient_id: str, data: FollowupData | None) -> str | None:
    """The plan in force (None when none was recorded: no plan is assumed)."""
    if data is None or patient_id not in data.followup.index:
        return None
    plan = data.followup.loc[patient_id, "maintenance_schedule"]
    return plan if isinstance(plan, str) and plan else None


def relapse_text(data: FollowupData | None, patient_id: str) -> str | None:
    """The patient's relapse status in words (None when not in follow-up)."""
    if data is None or patient_id not in data.followup.index:
        return None
    return str(data.followup.loc[patient_id, "status"])


def route_exposure(data: FollowupData | None, patient_id: str) -> pd.DataFrame:
    """Sessions and dose (ketamine mg/kg, esketamine mg) by route and phase for one patient
    (induction + maintenance)."""
    if data is None or data.sessions.empty:
        return pd.DataFrame(columns=["route", "phase", "sessions", "mg_per_kg", "esketamine_mg"])
    return exposure_by_route(data.sessions[data.sessions[ID_COLUMN] == patient_id],
                             patient_visits(data, patient_id))


def plan_risks(relapse: RelapseModel, patient: pd.Series,
               end: dict[str, object]) -> pd.DataFrame | None:
    """Predicted relapse within 8 weeks under each plan; None unless a completed responder.

    Columns: ``plan``, ``label``, ``probability``, ``current`` (the patient's own plan).
    """
    if end is None:
        return None
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
    """Cumulative sessions, ketamine mg/kg and esketamine mg by day after the series."""
    columns = ["day_after_series", "cumulative_sessions", "cumulative_mg_per_kg",
               "cumulative_esketamine_mg", "kind"]
    if visits.empty:
        return pd.DataFrame(columns=columns)
    return visits.reindex(columns=columns).reset_index(drop=True)


def screen_results(visits: pd.DataFrame) -> pd.DataFrame:
    """The long-term screens at the weeks they were taken (rows with any screen value)."""
    if visits.empty:
        return pd.DataFrame(columns=["week", "day_after_series", *SCREENS])
    rows = visits[visits["kind"] == "followup"]
    rows = rows[rows[list(SCREENS)].notna().any(axis=1)]
    return rows[["week", "day_after_series", *SCREENS]].reset_index(drop=True)


def _relapse_alerts(followup: pd.DataFrame, ids: list[str] | None = None) -> pd.DataFrame:
    rows = followup[followup["relapse"].astype("boolean").fillna(False).to_numpy(dtype=bool)]
    if ids is not None:
        rows = rows[rows.index.isin(ids)]
    return pd.DataFrame({ID_COLUMN: rows.index.astype(str),
                         "day_after_series": rows["days_to_relapse"].astype(int).to_numpy(),
                         "kind": "relapse", "severity": "high",
                         "message": rows["status"].astype(str).to_numpy()},
                        columns=ALERT_COLUMNS)


def patient_alerts(visits: pd.DataFrame, thresholds: FollowupThresholds = DEFAULT_THRESHOLDS,
                   data: FollowupData | None = None) -> pd.DataFrame:
    """Relapse (from ``data``), exposure and screen alerts for one patient's rows."""
    if visits.empty:
        return pd.DataFrame(columns=ALERT_COLUMNS)
    alerts = followup_alerts(visits, thresholds)
    if data is not None:
        relapse = _relapse_alerts(data.followup, list(visits[ID_COLUMN].astype(str).unique()))
        alerts = pd.concat([relapse, alerts], ignore_index=True) if len(relapse) else alerts
    return alerts


def cohort_alerts(data: FollowupData,
                  thresholds: FollowupThresholds = DEFAULT_THRESHOLDS) -> pd.DataFrame:
    """Every patient's relapse, exposure and screen alerts (the cohort alert list)."""
    parts = [_relapse_alerts(data.followup), followup_alerts(data.visits, thresholds)]
    return pd.concat([p for p in parts if len(p)] or [parts[1]], ignore_index=True)


def cohort_alert_counts(data: FollowupData,
                        thresholds: FollowupThresholds = DEFAULT_THRESHOLDS) -> pd.DataFrame:
    """Patients with each kind of long-term alert (relapse included), most common first."""
    alerts = cohort_alerts(data, thresholds)
    counts = alerts.groupby("kind")[ID_COLUMN].nunique().sort_values(ascending=False)
    return pd.DataFrame({"Alert": counts.index, "Patients": counts.to_numpy()})
