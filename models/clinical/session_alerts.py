"""Session alerts (clinical-reference §5) as pure functions over session frames.

Kept apart from Streamlit and the store so the rules are tested directly and the same code
feeds a patient's progress page and the cohort-wide alert list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

import pandas as pd

from base.settings import ClinicalLimits, clinical_limits
from models.clinical.session_monitoring import MIN_MONITORING_MINUTES
from models.contract.schema import (
    CADSS_SIGNIFICANT,
    POST_DOSE_DBP_ALERT,
    POST_DOSE_SBP_ALERT,
    REMISSION_BELOW,
    RESPONSE_DROP,
    SBP_RISE_ALERT,
)

Severity = Literal["high", "warning"]

# §5 thresholds that models.contract.schema does not hold (*unsourced* common clinical thresholds).
ITEM9_ALERT_ABOVE = 0  # PHQ-9 item 9 > 0
CSSRS_ALERT_AT = 3  # C-SSRS ideation ≥ 3
EARLY_SESSIONS = (3, 4)  # early non-response is judged after 3–4 sessions
EARLY_MIN_IMPROVEMENT = 0.20  # < 20 % better than baseline = early non-response
WORSENING_POINTS = 5  # PHQ-9 ≥ 5 points above baseline
SUICIDE_RISK = "suicide risk"  # the one alert kind item 9 > 0 raises, from any source
# Significant dissociation: CADSS ≥ 20 (clinical-reference §3, *unsourced* threshold).
# Heart rate: no threshold in the reference; base.settings.clinical_limits (*unsourced*).


def item9_alert(item9: float | None) -> bool:
    """True when a PHQ-9 item 9 answer raises the suicide-risk alert (item 9 > 0)."""
    return item9 is not None and not pd.isna(item9) and float(item9) > ITEM9_ALERT_ABOVE


def suicide_risk(item9: float | None, cssrs: float | None = None) -> bool:
    """True when one record's answers raise the suicide-risk alert (item 9 > 0 or C-SSRS
    ideation ≥ 3): the rule ``alerts_frame`` applies to a whole table, for a single record."""
    return item9_alert(item9) or (cssrs is not None and not pd.isna(cssrs)
                                  and float(cssrs) >= CSSRS_ALERT_AT)


def suicide_risk_message(item9: float | None, cssrs: float | None = None) -> str:
    """The suicide-risk alert's wording, the same for a session, an import or a CDS card."""
    parts = [f"PHQ-9 item 9 (thoughts of death or self-harm) = "
             f"{'not recorded' if item9 is None or pd.isna(item9) else f'{item9:.0f}'}"]
    if cssrs is not None and not pd.isna(cssrs):
        parts.append(f"C-SSRS ideation = {cssrs:.0f}")
    return (", ".join(parts) + f" (alert when item 9 > {ITEM9_ALERT_ABOVE} or C-SSRS ≥ "
            f"{CSSRS_ALERT_AT}): assess suicide risk")


@dataclass(frozen=True)
class Alert:
    """One alert: which session raised it, how serious, and the values behind it."""

    patient_id: str
    session_number: int
    kind: str
    severity: Severity
    message: str

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


ALERT_COLUMNS = list(Alert.__dataclass_fields__)


def _rows(frame: pd.DataFrame, kind: str, severity: Severity,
          message: Callable[[Any], str]) -> list[dict[str, object]]:
    return [{"patient_id": str(r.patient_id), "session_number": int(r.session_number),
             "kind": kind, "severity": severity, "message": message(r)}
            for r in frame.itertuples(index=False)]


def alerts_frame(sessions: pd.DataFrame, baselines: pd.Series) -> pd.DataFrame:
    """Every §5 alert for the given sessions (any number of patients), vectorised.

    ``baselines`` maps patient_id → baseline PHQ-9 (missing: only the rules that need no
    baseline). Rows: newest session first per patient, high severity before warnings.
    """
    s = sessions.copy()
    # No baseline (a gap): the baseline rules cannot fire (NaN compares False), the others
    # still do — a suicide-item or blood-pressure alert never depends on a baseline.
    s["baseline"] = s["patient_id"].map(baselines).astype(float)
    bp_high = (s["sbp_post"] >= POST_DOSE_SBP_ALERT) | (s["dbp_post"] >= POST_DOSE_DBP_ALERT)
    rise = ~bp_high & (s["sbp_post"] - s["sbp_pre"] > SBP_RISE_ALERT)
    suicide = (s["phq9_item9"] > ITEM9_ALERT_ABOVE) | (s["cssrs"] >= CSSRS_ALERT_AT)
    worse = s["phq9"] >= s["baseline"] + WORSENING_POINTS
    early = (s[s["session_number"].isin(EARLY_SESSIONS) & (s["baseline"] > 0)]
             .sort_values("session_number").groupby("patient_id").tail(1))
    early = early[(early["baseline"] - early["phq9"]) / early["baseline"]
                  < EARLY_MIN_IMPROVEMENT]
    rows = _rows(s[bp_high], "blood pressure", "high", lambda r: (
        f"Post-dose BP {r.sbp_post:.0f}/{r.dbp_post:.0f} mmHg ≥ "
        f"{POST_DOSE_SBP_ALERT}/{POST_DOSE_DBP_ALERT}"))
    rows += _rows(s[rise], "blood pressure", "warning", lambda r: (
        f"Systolic rose {r.sbp_post - r.sbp_pre:.0f} mmHg after dosing ({r.sbp_pre:.0f} → "
        f"{r.sbp_post:.0f}), more than {SBP_RISE_ALERT}"))
    rows += _rows(s[suicide], SUICIDE_RISK, "high",
                  lambda r: suicide_risk_message(r.phq9_item9, r.cssrs))
    rows += _rows(s[worse], "worsening", "high", lambda r: (
        f"PHQ-9 {r.phq9:.0f} is {r.phq9 - r.baseline:g} points above baseline "
        f"{r.baseline:g} (alert at ≥ {WORSENING_POINTS})"))
    rows += _rows(early, "early non-response", "warning", lambda r: (
        f"PHQ-9 {r.phq9:.0f} after {r.session_number:.0f} sessions is "
        f"{(r.baseline - r.phq9) / r.baseline:.0%} better than baseline {r.baseline:g} "
        f"(expected ≥ {EARLY_MIN_IMPROVEMENT:.0%}); review the plan"))
    rows += _dissociation_rows(s) + _heart_rate_rows(s, clinical_limits())
    rows += _monitoring_rows(s)
    out = pd.DataFrame(rows, columns=ALERT_COLUMNS)
    out["_high"] = out["severity"] != "high"
    out = out.sort_values(["patient_id", "session_number", "_high"],
                          ascending=[True, False, True], kind="stable")
    return out.drop(columns="_high").reset_index(drop=True)


def _dissociation_rows(s: pd.DataFrame) -> list[dict[str, object]]:
    """CADSS ≥ 20: significant dissociation (§3; the threshold is *unsourced*)."""
    cadss = pd.to_numeric(s["cadss"], errors="coerce") if "cadss" in s else None
    if cadss is None:
        return []
    return _rows(s[cadss >= CADSS_SIGNIFICANT], "dissociation", "warning", lambda r: (
        f"CADSS {r.cadss:.0f} ≥ {CADSS_SIGNIFICANT}: significant dissociation (threshold "
        "unsourced, clinical-reference §3); observe until it has resolved before discharge"))


def _heart_rate_rows(s: pd.DataFrame, limits: ClinicalLimits) -> list[dict[str, object]]:
    """Post-dose heart rate at or above the limit, else a rise at or above the limit
    (both *unsourced* settings: KAPCDS_HR_POST_ALERT, KAPCDS_HR_RISE_ALERT)."""
    if not {"hr_pre", "hr_post"} <= set(s.columns):
        return []
    pre = pd.to_numeric(s["hr_pre"], errors="coerce")
    post = pd.to_numeric(s["hr_post"], errors="coerce")
    high = post >= limits.hr_post_alert
    rise = ~high & (post - pre >= limits.hr_rise_alert)
    rows = _rows(s[high], "heart rate", "warning", lambda r: (
        f"Post-dose heart rate {r.hr_post:.0f} beats/min ≥ {limits.hr_post_alert} (unsourced "
        "threshold, clinic setting KAPCDS_HR_POST_ALERT); recheck pulse and rhythm"))
    rows += _rows(s[rise], "heart rate", "warning", lambda r: (
        f"Heart rate rose {r.hr_post - r.hr_pre:.0f} beats/min after dosing ({r.hr_pre:.0f} → "
        f"{r.hr_post:.0f}), ≥ {limits.hr_rise_alert} (unsourced threshold, clinic setting "
        "KAPCDS_HR_RISE_ALERT)"))
    return rows


def _monitoring_rows(s: pd.DataFrame) -> list[dict[str, object]]:
    """The monitoring record's alerts (``models.clinical.session_monitoring``), only where it was
    recorded: sessions before it (no dose time, no discharge BP) raise none, since their
    ``minutes_to_discharge`` was never measured from the dose."""
    rows: list[dict[str, object]] = []
    if {"dose_at", "ready_at"} <= set(s.columns):
        minutes = (pd.to_datetime(s["ready_at"], utc=True)
                   - pd.to_datetime(s["dose_at"], utc=True)).dt.total_seconds() / 60
        brief = (minutes > 0) & (minutes < MIN_MONITORING_MINUTES)
        short = s.assign(monitored_minutes=minutes)[brief]
        rows += _rows(short, "monitoring", "warning", lambda r: (
            f"Monitored {r.monitored_minutes:.0f} min from dose to ready to leave, shorter than "
            f"{MIN_MONITORING_MINUTES // 60} h"))
    if {"sbp_discharge", "dbp_discharge"} <= set(s.columns):
        sbp = pd.to_numeric(s["sbp_discharge"], errors="coerce")
        dbp = pd.to_numeric(s["dbp_discharge"], errors="coerce")
        high = s[(sbp >= POST_DOSE_SBP_ALERT) | (dbp >= POST_DOSE_DBP_ALERT)]
        rows += _rows(high, "discharge blood pressure", "high", lambda r: (
            f"BP before discharge {_mmhg(r.sbp_discharge)}/{_mmhg(r.dbp_discharge)} mmHg ≥ "
            f"{POST_DOSE_SBP_ALERT}/{POST_DOSE_DBP_ALERT}: review before the patient leaves"))
    return rows


def _mmhg(value: object) -> str:
    number = pd.to_numeric(value, errors="coerce")
    return "not recorded" if pd.isna(number) else f"{float(number):.0f}"


def session_alerts(patient_id: str, baseline_phq9: float,
                   sessions: pd.DataFrame) -> list[Alert]:
    """Every §5 alert for one patient's sessions, newest session first."""
    if sessions.empty:
        return []
    frame = alerts_frame(sessions.assign(patient_id=patient_id),
                         pd.Series({patient_id: float(baseline_phq9)}))
    return [Alert(**row) for row in frame.to_dict("records")]


def response_status(baseline_phq9: float, sessions: pd.DataFrame) -> str:
    """Response/remission at the latest session, in the outcome definitions' terms."""
    if sessions.empty:
        return "no sessions yet"
    latest = sessions.sort_values("session_number").iloc[-1]
    phq9, baseline = float(latest["phq9"]), float(baseline_phq9)
    if phq9 < REMISSION_BELOW:
        return f"in remission (PHQ-9 {phq9:g} < {REMISSION_BELOW})"
    if baseline > 0 and phq9 <= baseline * (1 - RESPONSE_DROP):
        return f"responding (PHQ-9 {phq9:g}, ≥ {RESPONSE_DROP:.0%} below baseline {baseline:g})"
    change = (baseline - phq9) / baseline if baseline > 0 else 0.0
    return f"not (yet) responding (PHQ-9 {phq9:g}, {change:.0%} better than baseline)"


def in_treatment(patients: pd.DataFrame, sessions: pd.DataFrame) -> pd.Index:
    """Ids of patients with sessions who neither stopped nor finished the planned series."""
    if sessions.empty:
        return pd.Index([], dtype=object)
    by_patient = sessions.groupby("patient_id").agg(
        attended=("session_number", "max"), stopped=("dropout_after", "max"))
    planned = patients.set_index("patient_id")["planned_sessions"]
    by_patient = by_patient.join(planned, how="inner")
    active = (~by_patient["stopped"].astype(bool)) & (
        by_patient["attended"] < by_patient["planned_sessions"])
    return by_patient.index[active]


def cohort_alerts(patients: pd.DataFrame, sessions: pd.DataFrame,
                  patient_ids: pd.Index | list[str] | None = None,
                  latest_only: bool = True) -> pd.DataFrame:
    """Alerts for many patients (``patient_ids`` or all with sessions) as one table.

    ``latest_only`` keeps the alerts raised at each patient's most recent session, which is
    what needs attention now; older alerts stay on the patient's progress page.
    """
    chosen = sessions if patient_ids is None else sessions[
        sessions["patient_id"].isin(list(patient_ids))]
    table = alerts_frame(chosen, patients.set_index("patient_id")["phq9_baseline"])
    if latest_only and not table.empty:
        latest = chosen.groupby("patient_id")["session_number"].max()
        table = table[table["session_number"] == table["patient_id"].map(latest)]
    return table.reset_index(drop=True)
