"""The service layer pages call: patients, assessments, comparisons (no Streamlit here).

Pages render what these functions return and nothing else, so every number a clinician
sees is computed (and tested) here, away from widgets. Cohort-wide work is split into
``cohort_table`` (expensive, cached by the caller per model version and store state) and
cheap per-request functions that take that table.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import Engine, func, select

from dashboard.service_gaps import (  # noqa: F401 - needs_message is for the pages
    INCOMPLETE,
    PREDICTION_GAPS,
    SCREEN_GAPS,
    mark_gaps,
    needs_message,
)
from models.eligibility import EligibilityResult, screen
from models.explain import PatientExplanation, explain_frame, sentences
from models.modelset import ModelSet
from models.predict import predict_frame
from models.schema import FEATURES, ID_COLUMN, NAME_COLUMN, OUTCOMES, outcome
from records.db import session_factory
from records.repository import decisions_for, get_patient, patients_frame
from records.tables import Patient, TreatmentSession

log = logging.getLogger(__name__)

STATUS_LABELS = {
    "eligible": "eligible", "eligible_with_cautions": "eligible with cautions",
    "not_eligible": "not eligible", "no_indication": "no indication",
    INCOMPLETE: "inputs missing",
}
DECISION_LABELS = {"proceed": "proceed", "proceed_with_cautions": "proceed with cautions",
                   "do_not_proceed": "do not proceed"}
_SUGGESTION = {"eligible": "proceed", "eligible_with_cautions": "proceed_with_cautions",
               "not_eligible": "do_not_proceed", "no_indication": "do_not_proceed"}
WILSON_Z = 1.96


@dataclass(frozen=True)
class Workspace:
    """Everything a request needs: the store, the current model set and its card."""

    engine: Engine
    model_set: ModelSet
    card: dict[str, Any]
    version: str


def probability_column(name: str) -> str:
    """Column of ``cohort_table`` holding an outcome's predicted probability."""
    return f"{name}_probability"


def patients_fingerprint(engine: Engine) -> tuple[int, str]:
    """Cheap summary that changes whenever a patient is added or edited (a cache key)."""
    with session_factory(engine)() as session:
        count, last = session.execute(
            select(func.count(Patient.id), func.max(Patient.updated_at))).one()
    return int(count), str(last)


def sessions_fingerprint(engine: Engine) -> tuple[int, str]:
    """Cheap summary that changes whenever a session is recorded (a cache key)."""
    with session_factory(engine)() as session:
        count, last = session.execute(select(func.count(TreatmentSession.id),
                                             func.max(TreatmentSession.recorded_at))).one()
    return int(count), str(last)


def cohort_table(ws: Workspace) -> pd.DataFrame:
    """Every stored patient with inputs, predictions, eligibility and OOD flags (indexed by id).

    The expensive call of the dashboard (one batch prediction and screen); callers cache it
    per model version and store fingerprint.
    """
    with session_factory(ws.engine)() as session:
        patients = patients_frame(session)
    if patients.empty:
        return patients.set_index(ID_COLUMN, drop=False)
    predicted = predict_frame(ws.model_set, patients).drop(columns=[ID_COLUMN])
    table = pd.concat([patients, predicted], axis=1)
    table.index = table[ID_COLUMN].astype(str)
    mark_gaps(table)  # placeholders never become predictions (issue 7)
    log.info("cohort table: %d patients, model %s", len(table), ws.version)
    return table


def find_patients(cohort: pd.DataFrame, search: str = "", statuses: list[str] | None = None,
                  risk_outcome: str | None = None, risk_above: float = 0.0) -> pd.DataFrame:
    """Patients matching a search on id or name, eligibility statuses and a minimum risk."""
    mask = pd.Series(True, index=cohort.index)
    text = search.strip().lower()
    if text:
        mask &= (cohort[ID_COLUMN].str.lower().str.contains(text, regex=False)
                 | cohort[NAME_COLUMN].str.lower().str.contains(text, regex=False))
    if statuses:
        mask &= cohort["eligibility_status"].isin(statuses)
    if risk_outcome and risk_above > 0:
        mask &= cohort[probability_column(risk_outcome)] >= risk_above
    return cohort[mask]


def patient_list(cohort: pd.DataFrame) -> pd.DataFrame:
    """The compact table a clinician scans: id, name, status and every predicted outcome."""
    columns = {ID_COLUMN: "Patient", NAME_COLUMN: "Name", "eligibility_status": "Eligibility"}
    out = cohort[list(columns)].rename(columns=columns)
    out["Eligibility"] = out["Eligibility"].map(STATUS_LABELS)
    for spec in OUTCOMES:
        out[spec.label] = cohort[probability_column(spec.name)]
    out["Unusual inputs"] = cohort["ood_overall"].astype(bool)
    return out.reset_index(drop=True)


@dataclass(frozen=True)
class OutcomeRisk:
    """One predicted outcome with its honest uncertainty and its place in the cohort."""

    name: str
    label: str
    kind: str
    probability: float
    percentile: float  # share of stored patients with a lower prediction (0-100)
    calibration: str  # what held-out patients with similar predictions experienced
    observed: float | None = None
    observed_lo: float | None = None
    observed_hi: float | None = None
    n_similar: int = 0
    auc: str = ""
    similar: str = ""  # the prediction bin the calibration evidence comes from


@dataclass
class Assessment:
    """Everything Candidate review shows for one patient."""

    patient_id: str
    name: str
    version: int
    values: dict[str, Any]
    eligibility: EligibilityResult | None  # None while a screen input is a data gap
    risks: list[OutcomeRisk]
    ood: list[str]
    suggestion: str
    model_version: str
    decisions: list[dict[str, Any]] = field(default_factory=list)
    prediction_needs: list[str] = field(default_factory=list)  # missing model inputs
    screen_needs: list[str] = field(default_factory=list)  # missing screen inputs


def wilson(successes: float, n: int, z: float = WILSON_Z) -> tuple[float, float]:
    """Wilson 95 % interval for a proportion (well-behaved for small n and rates near 0/1)."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _calibration_bin(card: dict[str, Any], name: str, p: float) -> dict[str, Any] | None:
    report = card.get("evaluation", {}).get("report", {}).get("outcomes", {}).get(name, {})
    for row in report.get("calibration_curve", []):
        last = row["bin_hi"] >= 1.0
        if row["bin_lo"] <= p < row["bin_hi"] or (last and p >= row["bin_lo"]):
            return row
    return None


def _auc_text(card: dict[str, Any], name: str) -> str:
    auc = card.get("metrics", {}).get(name, {}).get("auc", {})
    if auc.get("value") is None:
        return "n/a"
    if auc.get("lo") is None:
        return f"{auc['value']:.2f}"
    return f"{auc['value']:.2f} (95 % CI {auc['lo']:.2f}–{auc['hi']:.2f})"


def outcome_risk(card: dict[str, Any], cohort: pd.DataFrame, name: str, p: float) -> OutcomeRisk:
    """A prediction with the calibration evidence behind it, from the model card.

    The uncertainty shown is NOT a per-patient confidence interval: it is the observed rate
    (Wilson 95 % CI) among held-out test patients whose predictions fell in the same 10-point
    bin, i.e. how far such a number has been from reality on unseen patients.
    """
    spec = outcome(name)
    column = (cohort[probability_column(name)].dropna() if len(cohort)
              else pd.Series(dtype=float))
    percentile = float((column < p).mean() * 100) if len(column) else float("nan")
    row = _calibration_bin(card, name, p)
    if row is None:
        return OutcomeRisk(name, spec.label, spec.kind, p, percentile,
                           "no calibration data in this model card", auc=_auc_text(card, name))
    n, observed = int(row["n"]), float(row["observed"])
    lo, hi = wilson(observed * n, n)
    text = (f"{observed:.0%} ({lo:.0%}–{hi:.0%}) of {n} predicted "
            f"{row['bin_lo']:.0%}–{row['bin_hi']:.0%}")
    return OutcomeRisk(name, spec.label, spec.kind, p, percentile, text, observed, lo, hi, n,
                       _auc_text(card, name), f"{row['bin_lo']:.0%}–{row['bin_hi']:.0%}")


def suggest_decision(result: EligibilityResult) -> str:
    """The screen's suggestion: the rule-based eligibility status decides, never the model."""
    return _SUGGESTION[result.status]


def patient_row(cohort: pd.DataFrame, patient_id: str) -> pd.Series:
    """One patient's row of the cohort table (KeyError names an unknown id)."""
    if patient_id not in cohort.index:
        raise KeyError(f"no patient {patient_id!r} in the store")
    return cohort.loc[patient_id]


def inputs_of(row: pd.Series) -> dict[str, Any]:
    """The schema inputs of a cohort row as plain values."""
    return {f.name: row[f.name] for f in FEATURES}


def assess_patient(ws: Workspace, cohort: pd.DataFrame, patient_id: str) -> Assessment:
    """Eligibility, every prediction with uncertainty and percentile, OOD flags, decisions.

    With a model input missing (a data gap) there are no risks, only ``prediction_needs``;
    with a screen input missing the screen cannot run (``eligibility`` is None) and the
    suggestion is not to proceed until ``screen_needs`` are filled in.
    """
    row = patient_row(cohort, patient_id)
    values = inputs_of(row)
    needs = list(row.get(PREDICTION_GAPS, []) or [])
    screen_needs = list(row.get(SCREEN_GAPS, []) or [])
    result = None if screen_needs else screen(values)
    risks = [] if needs else [
        outcome_risk(ws.card, cohort, spec.name, float(row[probability_column(spec.name)]))
        for spec in OUTCOMES if probability_column(spec.name) in row.index]
    with session_factory(ws.engine)() as session:
        stored_patient = get_patient(session, patient_id)
    if stored_patient is None:
        raise KeyError(f"no patient {patient_id!r} in the store")
    ood = [] if needs else ws.model_set.ood.explain_flags(values)
    suggestion = "do_not_proceed" if result is None else suggest_decision(result)
    return Assessment(patient_id, str(row[NAME_COLUMN]), int(stored_patient.version), values,
                      result, risks, ood, suggestion, ws.version,
                      decision_history(ws, patient_id), needs, screen_needs)


def decision_history(ws: Workspace, patient_id: str) -> list[dict[str, Any]]:
    """The patient's recorded decisions, oldest first, in display wording."""
    with session_factory(ws.engine)() as session:
        stored = decisions_for(session, patient_id)
    return [{"when (UTC)": d.created_at.strftime("%Y-%m-%d %H:%M"),
             "decision": DECISION_LABELS[d.decision],
             "suggested": DECISION_LABELS[d.suggested], "reason": d.reason or "",
             "clinician": d.clinician, "model version": d.model_version or ""}
            for d in stored]


@dataclass
class OutcomeExplanation:
    """A patient's SHAP explanation for one outcome, with its plain-language sentences."""

    outcome: str
    label: str
    explanation: PatientExplanation
    sentences: list[str]


def explain_outcome(ws: Workspace, cohort: pd.DataFrame, patient_id: str,
                    name: str) -> OutcomeExplanation:
    """Exact TreeSHAP for one outcome of one stored patient."""
    row = patient_row(cohort, patient_id)
    frame = cohort.loc[[patient_id], [f.name for f in FEATURES]]
    explanation = explain_frame(ws.model_set, frame, name).row(0)
    return OutcomeExplanation(name, outcome(name).label, explanation,
                              sentences(explanation, row, name))


@dataclass
class Comparison:
    """Two to four patients side by side: inputs, predictions, one outcome's contributions."""

    patient_ids: list[str]
    inputs: pd.DataFrame  # rows = feature labels, columns = patient ids (formatted values)
    risks: pd.DataFrame  # rows = outcome labels, columns = patient ids (probabilities)
    contributions: pd.DataFrame  # rows = feature names, columns = patient ids (log-odds)
    outcome: str
    differing: list[str]  # feature labels whose values differ between the patients


MAX_COMPARE = 4


def compare_patients(ws: Workspace, cohort: pd.DataFrame, patient_ids: list[str],
                     name: str) -> Comparison:
    """Align 2–4 patients feature by feature (ValueError outside that range)."""
    ids = list(dict.fromkeys(patient_ids))
    if not 2 <= len(ids) <= MAX_COMPARE:
        raise ValueError(f"choose 2 to {MAX_COMPARE} different patients (got {len(ids)})")
    rows = [patient_row(cohort, pid) for pid in ids]
    inputs = pd.DataFrame({pid: [f.format_value(r[f.name]) for f in FEATURES]
                           for pid, r in zip(ids, rows, strict=True)},
                          index=[f.label for f in FEATURES])
    risks = pd.DataFrame({pid: [float(r[probability_column(o.name)]) for o in OUTCOMES]
                          for pid, r in zip(ids, rows, strict=True)},
                         index=[o.label for o in OUTCOMES])
    frame = cohort.loc[ids, [f.name for f in FEATURES]]
    contributions = explain_frame(ws.model_set, frame, name).contributions.T
    contributions.columns = ids
    for pid, r in zip(ids, rows, strict=True):  # placeholders explain nothing (issue 7)
        if r.get(PREDICTION_GAPS):
            contributions[pid] = float("nan")
    differing = [label for label, values in inputs.iterrows() if values.nunique() > 1]
    return Comparison(ids, inputs, risks, contributions, name, differing)

