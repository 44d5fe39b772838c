"""Patients for the clinician pages: the cohort table, search, one patient's assessment.

Pages render what these functions return and nothing else, so every number a clinician
sees is computed (and tested) here, away from widgets. ``cohort_table`` is the expensive
call (cached by the caller per model version and store state); the rest take that table.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from base.clock import clinic_text, zone_label
from base.settings import clinic_timezone
from dashboard.services.cohort.cache import cached_cohort
from dashboard.services.lab.quality import shown_outcomes
from dashboard.services.patients.gaps import (
    GAPS,
    PREDICTION_GAPS,
    SCREEN_GAPS,
    mark_gaps,
    recorded_values,
)
from dashboard.services.workspace import (
    DECISION_LABELS,
    STATUS_LABELS,
    Workspace,
    probability_column,
)
from models.clinical.eligibility import EligibilityResult, screen
from models.clinical.risk_wording import (
    OutcomeRisk,
    outcome_risk,
    percent_text,
    percent_value,
    percent_values,
)
from models.contract.schema import FEATURES, ID_COLUMN, NAME_COLUMN, OUTCOMES, feature, outcome
from models.inference.explain import PatientExplanation, explain_frame, sentences
from models.inference.predict import predict_frame
from records.db import session_factory
from records.repository import decisions_for, get_patient, patient_count, patients_frame

log = logging.getLogger(__name__)


_SUGGESTION = {"eligible": "proceed", "eligible_with_cautions": "proceed_with_cautions",
               "not_eligible": "do_not_proceed", "no_indication": "do_not_proceed"}


def cohort_table(ws: Workspace) -> pd.DataFrame:
    """Every stored patient with inputs, predictions, eligibility and OOD flags (indexed by id).

    The expensive call of the dashboard (one batch prediction and screen), kept on disk per
    model version and updated row by row (``cohort_cache``); callers also cache it in
    memory per model version and store fingerprint.
    """
    with session_factory(ws.engine)() as session:
        if not patient_count(session):
            return patients_frame(session).set_index(ID_COLUMN, drop=False)
    table = cached_cohort(ws, cohort_rows)
    log.info("cohort table: %d patients, model %s", len(table), ws.version)
    return table


def cohort_rows(ws: Workspace, patients: pd.DataFrame) -> pd.DataFrame:
    """Cohort rows of stored patients: inputs, ``predict_frame`` and the gap marks."""
    predicted = predict_frame(ws.model_set, patients).drop(columns=[ID_COLUMN])
    table = pd.concat([patients, predicted.set_axis(patients.index)], axis=1)
    table.index = pd.Index(table[ID_COLUMN].astype(str))
    return mark_gaps(table)  # placeholders never become predictions (issue 7)


def find_patients(cohort: pd.DataFrame, search: str = "", statuses: list[str] | None = None,
                  risk_outcome: str | None = None, risk_above: float = 0.0) -> pd.DataFrame:
    """Patients matching a search on id or name, eligibility statuses and a minimum risk."""
    text = search.strip().lower()
    if not text and not statuses and not (risk_outcome and risk_above > 0):
        return cohort  # no filter: the table itself, not a 100,000-row copy
    mask = pd.Series(True, index=cohort.index)
    if text:
        mask &= search_mask(cohort, text)
    if statuses:
        mask &= cohort["eligibility_status"].isin(statuses)
    if risk_outcome and risk_above > 0:
        mask &= cohort[probability_column(risk_outcome)] >= risk_above
    return cohort[mask]


def search_mask(frame: pd.DataFrame, text: str) -> pd.Series:
    """True where the id or the name contains ``text`` (already stripped and lower case):
    one rule for the cohort table and for the store's list of names."""
    return (frame[ID_COLUMN].astype(str).str.lower().str.contains(text, regex=False)
            | frame[NAME_COLUMN].astype(str).str.lower().str.contains(text, regex=False))


PAGE_SIZE = 100  # patients per page of a list: the browser never gets the whole store


def page_count(n_rows: int, size: int = PAGE_SIZE) -> int:
    """How many pages ``n_rows`` fill (at least one, so an empty list has a page 1)."""
    return max(1, -(-n_rows // size))


def page_rows(found: pd.DataFrame, page: int, size: int = PAGE_SIZE) -> slice:
    """Positions of ``found`` on ``page`` (1-based; past the end: the last page)."""
    return page_slice(len(found), page, size)


def page_slice(n_rows: int, page: int, size: int = PAGE_SIZE) -> slice:
    """Positions on ``page`` of a list of ``n_rows`` (1-based; past the end: the last)."""
    page = min(max(1, page), page_count(n_rows, size))
    return slice((page - 1) * size, min(n_rows, page * size))


def patient_list(cohort: pd.DataFrame, card: dict[str, Any] | None) -> pd.DataFrame:
    """The compact table a clinician scans: id, name, status and every predicted outcome
    that passes the quality gate of ``card`` (gated outcomes get no column), in whole
    percentages."""
    columns = {ID_COLUMN: "Patient", NAME_COLUMN: "Name", "eligibility_status": "Eligibility"}
    out = cohort[list(columns)].rename(columns=columns)
    out["Eligibility"] = out["Eligibility"].map(STATUS_LABELS)
    shown = shown_outcomes(card)
    for spec in OUTCOMES:
        if spec.name in shown:
            out[spec.label] = percent_values(cohort[probability_column(spec.name)])
    out["Unusual inputs"] = cohort["ood_overall"].astype(bool)
    return out.reset_index(drop=True)


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
    suggestion: str | None  # None: the screen has not run, nothing is suggested
    model_version: str
    decisions: list[dict[str, Any]] = field(default_factory=list)
    prediction_needs: list[str] = field(default_factory=list)  # missing model inputs
    screen_needs: list[str] = field(default_factory=list)  # missing screen inputs
    gaps: list[str] = field(default_factory=list)  # every input stored only as a placeholder
    percentiles_pending: bool = False  # the store's table is being built: no percentile yet

    @property
    def recorded(self) -> dict[str, Any]:
        """The inputs somebody recorded (placeholders for gaps left out)."""
        return recorded_values(self.values, self.gaps)


def risk_table(risks: list[OutcomeRisk], percentiles_pending: bool = False) -> pd.DataFrame:
    """Candidate review's predictions in five readable columns (whole percentages).

    The calibration evidence is one short text: ``82% (72%–89%) of 77`` — how often the
    outcome happened among held-out test patients with a prediction in the same 10-point
    range as this patient's. With ``percentiles_pending`` (the store's predictions are still
    being computed) the percentile column says so in words instead of a number.
    """
    rows = []
    for r in risks:
        evidence = ("no calibration data" if r.observed is None else
                    f"{percent_text(r.observed)} ({percent_text(r.observed_lo)}–"
                    f"{percent_text(r.observed_hi)}) of {r.n_similar}")
        rows.append({"Outcome": r.label, "Predicted": percent_value(r.probability),
                     "Range (90 %)": r.interval_text or "not available",
                     "Percentile": PERCENTILE_PENDING if percentiles_pending else
                     None if r.percentile != r.percentile else round(r.percentile),
                     "What happened to similar test patients": evidence})
    return pd.DataFrame(rows, columns=["Outcome", "Predicted", "Range (90 %)", "Percentile",
                                       "What happened to similar test patients"])


PERCENTILE_PENDING = "computing…"  # needs every stored patient's prediction


HEADER_FIELDS = ("age", "sex", "primary_diagnosis", "phq9_baseline")


def header_line(assessment: Assessment) -> str:
    """``46 years · female · TRD · baseline PHQ-9 19 points``: recorded values only.

    A field stored as a gap is named as not recorded instead of showing its placeholder.
    """
    recorded = assessment.recorded
    parts = []
    for name in HEADER_FIELDS:
        spec = feature(name)
        if name not in recorded:
            parts.append(f"{spec.label.lower()} not recorded")
        elif name == "phq9_baseline":
            parts.append(f"{spec.label} {spec.format_value(recorded[name])}")
        else:
            parts.append(spec.format_value(recorded[name]))
    return " · ".join(parts)


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


def interval_of(row: pd.Series, name: str) -> tuple[float, float] | None:
    """The patient's interval for an outcome from a cohort row (None: no interval)."""
    lo, hi = row.get(f"{name}_interval_lo"), row.get(f"{name}_interval_hi")
    if lo is None or hi is None or lo != lo or hi != hi:
        return None
    return float(lo), float(hi)


def assess_patient(ws: Workspace, cohort: pd.DataFrame, patient_id: str, *,
                   ranked: bool = True) -> Assessment:
    """Eligibility, every prediction with uncertainty and percentile, OOD flags, decisions.

    An outcome failing the quality gate comes back with ``reliable`` False and nothing
    patient-specific (``models.clinical.risk_wording``). With a model input missing (a data gap)
    there are no risks, only ``prediction_needs``; with a screen input missing the screen
    cannot run (``eligibility`` is None) and there is no suggestion (``suggestion`` is None)
    until ``screen_needs`` are filled in; with any model input missing there is no range
    (OOD) check either. ``ranked`` False: ``cohort`` holds only some patients (the store's
    table is still being built), so no percentile is computed from it (NaN, shown as not
    yet computed) and ``percentiles_pending`` says so.
    """
    row = patient_row(cohort, patient_id)
    values = inputs_of(row)
    needs = list(row.get(PREDICTION_GAPS, []) or [])
    screen_needs = list(row.get(SCREEN_GAPS, []) or [])
    result = None if screen_needs else screen(values)
    risks = [] if needs else [
        outcome_risk(ws.card, cohort[probability_column(spec.name)] if ranked else None,
                     spec.name,
                     float(row[probability_column(spec.name)]), interval_of(row, spec.name))
        for spec in OUTCOMES if probability_column(spec.name) in row.index]
    with session_factory(ws.engine)() as session:
        stored_patient = get_patient(session, patient_id)
    if stored_patient is None:
        raise KeyError(f"no patient {patient_id!r} in the store")
    ood = [] if needs else ws.model_set.ood.explain_flags(values)
    suggestion = None if result is None else suggest_decision(result)
    return Assessment(patient_id, str(row[NAME_COLUMN]), int(stored_patient.version), values,
                      result, risks, ood, suggestion, ws.version,
                      decision_history(ws, patient_id), needs, screen_needs,
                      list(row.get(GAPS, []) or []), percentiles_pending=not ranked)


def decision_history(ws: Workspace, patient_id: str) -> list[dict[str, Any]]:
    """The patient's recorded decisions, oldest first, in display wording."""
    with session_factory(ws.engine)() as session:
        stored = decisions_for(session, patient_id)
    zone = clinic_timezone()  # times in the clinic's zone, named in the header
    return [{f"when ({zone_label(zone)})": clinic_text(d.created_at, zone, with_zone=False),
             "decision": DECISION_LABELS[d.decision],
             "suggested": DECISION_LABELS[d.suggested], "reason": d.reason or "",
             "clinician": d.clinician,
             "role": (d.role or "not recorded").replace("_", " "),
             "model version": d.model_version or ""}
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
    """Exact TreeSHAP for one outcome of one stored patient (ValueError for an outcome that
    fails the quality gate: it has no explanation to give)."""
    if name not in shown_outcomes(ws.card):
        raise ValueError(f"{name}: the quality gate withholds this outcome's explanation")
    row = patient_row(cohort, patient_id)
    frame = cohort.loc[[patient_id], [f.name for f in FEATURES]]
    explanation = explain_frame(ws.model_set, frame, name).row(0)
    return OutcomeExplanation(name, outcome(name).label, explanation,
                              sentences(explanation, row, name))
