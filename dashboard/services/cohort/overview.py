"""Cohort overview: population summary, risk distributions, global SHAP, alerts (no Streamlit).

``cohort_explanations`` is the expensive part (TreeSHAP for every outcome); callers cache
its result per model version and store state, never per rerun.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dashboard.services.lab.quality import shown_outcomes
from dashboard.services.patients.gaps import predictable, predictable_mask
from dashboard.services.workspace import STATUS_LABELS, Workspace, probability_column
from models.clinical.session_alerts import cohort_alerts, in_treatment
from models.contract.doses import DOSE_LABELS
from models.contract.schema import (
    DIAGNOSES,
    DIAGNOSIS_LABELS,
    FEATURES,
    ID_COLUMN,
    OUTCOMES,
    feature,
)
from models.inference.explain import explain_frame
from records.db import session_factory
from records.frames import patient_columns, series_progress, session_count, sessions_frame
from records.repository import patient_count

log = logging.getLogger(__name__)

MAX_EXPLAINED = 1000  # patients sampled for global SHAP (exact; a seeded sample is plenty)
BEESWARM_FEATURES = 12


@dataclass
class CohortExplanation:
    """Global SHAP view of one outcome: importance and beeswarm points."""

    outcome: str
    importance: pd.Series  # mean |log-odds contribution| per feature label, descending
    beeswarm: pd.DataFrame  # feature (label), contribution, value (0-1 colour), text
    n_patients: int


def population_summary(cohort: pd.DataFrame) -> dict[str, pd.DataFrame | dict[str, float]]:
    """Headline numbers, eligibility counts and indications for the whole store.

    ``patients`` and the eligibility counts (which show 'inputs missing') cover everyone;
    the other statistics only patients without gaps in model inputs, so placeholders never
    shift them.
    """
    everyone, cohort = cohort, predictable(cohort)
    n = len(cohort)
    headline = {
        "patients": float(len(everyone)),
        "median age": float(cohort["age"].median()) if n else float("nan"),
        "female (%)": float((cohort["sex"] == "female").mean() * 100) if n else float("nan"),
        "median baseline PHQ-9": float(cohort["phq9_baseline"].median()) if n else float("nan"),
        "unusual inputs (%)": float(cohort["ood_overall"].astype(bool).mean() * 100)
        if n else float("nan"),
    }
    status = (everyone["eligibility_status"].map(STATUS_LABELS).value_counts()
              .rename_axis("eligibility").reset_index(name="patients"))
    indications = pd.DataFrame({
        "indication": list(DIAGNOSIS_LABELS),
        "patients": [int(cohort[f"dx_{code}"].astype(bool).sum()) for code in DIAGNOSES]})
    return {"headline": headline, "eligibility": status, "indications": indications}


def _shown_probabilities(cohort: pd.DataFrame, card: dict | None) -> dict[str, np.ndarray]:
    """Outcome label → every predictable patient's probability, for the outcomes that pass
    the quality gate of ``card`` (arrays, no copy of the cohort frame)."""
    keep = predictable_mask(cohort)
    shown = shown_outcomes(card)
    return {spec.label: cohort[probability_column(spec.name)].to_numpy(dtype=float)[keep]
            for spec in OUTCOMES
            if probability_column(spec.name) in cohort and spec.name in shown}


BIN_WIDTH = 0.05  # histogram bins of the cohort's predicted probabilities (5 points)


def risk_counts(cohort: pd.DataFrame, card: dict | None) -> pd.DataFrame:
    """Patients per 5-point bin of predicted probability (outcome label, bin start, count),
    counted here so the browser gets 20 numbers per outcome instead of every prediction."""
    edges = np.linspace(0.0, 1.0, int(round(1 / BIN_WIDTH)) + 1)
    parts = [pd.DataFrame({"outcome": label, "bin_start": edges[:-1],
                           "patients": np.histogram(values[~np.isnan(values)], edges)[0]})
             for label, values in _shown_probabilities(cohort, card).items()]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["outcome", "bin_start", "patients"])


def risk_summaries(cohort: pd.DataFrame, card: dict | None) -> pd.DataFrame:
    """Box-plot statistics of each shown outcome's predicted probability over the
    predictable patients: quartiles (linear interpolation) and Tukey whiskers (the most
    extreme predictions within 1.5 IQR of the box), indexed by outcome label."""
    rows = {}
    for label, values in _shown_probabilities(cohort, card).items():
        values = values[~np.isnan(values)]
        if not len(values):
            continue
        q1, median, q3 = np.percentile(values, [25, 50, 75])
        reach = 1.5 * (q3 - q1)
        rows[label] = {"q1": q1, "median": median, "q3": q3,
                       "lowerfence": values[values >= q1 - reach].min(),
                       "upperfence": values[values <= q3 + reach].max(), "n": len(values)}
    return pd.DataFrame.from_dict(rows, orient="index", columns=[
        "q1", "median", "q3", "lowerfence", "upperfence", "n"])


def _colour_values(frame: pd.DataFrame, name: str) -> np.ndarray:
    """A feature's values scaled to 0–1 for beeswarm colour (low → high, categories by code)."""
    spec = feature(name)
    if spec.dtype == "category":
        codes = pd.Categorical(frame[name].astype(object), categories=spec.categories).codes
        return codes / max(1, len(spec.categories) - 1)
    values = frame[name].astype(float).to_numpy()
    low, high = np.nanmin(values), np.nanmax(values)
    return (values - low) / (high - low) if high > low else np.zeros_like(values)


def explain_cohort_outcome(ws: Workspace, sample: pd.DataFrame, name: str) -> CohortExplanation:
    """Mean absolute effect (percentage points) and beeswarm points of one outcome."""
    inputs = sample[[f.name for f in FEATURES]]
    # Probability effects in percentage points (exact SHAP on the log-odds, shared out along
    # the logistic curve; models.inference.explain): the unit a clinician reads.
    contributions = explain_frame(ws.model_set, inputs, name).effects * 100
    importance = contributions.abs().mean().sort_values(ascending=False)
    top = list(importance.index[:BEESWARM_FEATURES])
    parts = []
    for fname in top:
        spec = feature(fname)
        part = pd.DataFrame({
            "feature": DOSE_LABELS.get(fname, spec.label),
            "contribution": contributions[fname].to_numpy(),
            "value": _colour_values(inputs, fname),
            "text": [spec.format_value(v) for v in inputs[fname]]})
        if fname in DOSE_LABELS:  # patients on the other route have no dose in this unit
            part = part[inputs[fname].notna().to_numpy()]
        parts.append(part)
    importance.index = [DOSE_LABELS.get(f, feature(f).label) for f in importance.index]
    return CohortExplanation(name, importance, pd.concat(parts, ignore_index=True), len(sample))


def cohort_explanations(ws: Workspace, cohort: pd.DataFrame,
                        seed: int = 0) -> dict[str, CohortExplanation]:
    """Global SHAP for every outcome that passes the quality gate, on (a seeded sample of at
    most MAX_EXPLAINED) patients without gaps in model inputs."""
    cohort = predictable(cohort)
    sample = cohort if len(cohort) <= MAX_EXPLAINED else cohort.sample(MAX_EXPLAINED,
                                                                       random_state=seed)
    shown = shown_outcomes(ws.card)
    out = {name: explain_cohort_outcome(ws, sample, name) for name in ws.model_set.outcomes
           if name in shown}
    log.info("cohort explanations: %d outcomes x %d patients", len(out), len(sample))
    return out


def stored_patients(ws: Workspace) -> int:
    """How many patients the store holds (counted by the store, none read)."""
    with session_factory(ws.engine)() as session:
        return patient_count(session)


def recorded_sessions(ws: Workspace) -> int:
    """How many dosing sessions the store holds (counted by the store, none read)."""
    with session_factory(ws.engine)() as session:
        return session_count(session)


ALERT_INPUTS = ("planned_sessions", "phq9_baseline")  # what the latest-session alerts read


def alerts_overview(ws: Workspace, cohort: pd.DataFrame | None,
                    only_in_treatment: bool = True) -> tuple[pd.DataFrame, int]:
    """Alerts raised at each patient's latest session, and how many patients were checked.

    ``only_in_treatment`` limits the list to patients who have neither finished nor stopped
    their series: the ones a clinician can still act for. The store gives each patient's
    latest session and series progress (highest session, stopped at any) directly: a
    latest-session alert depends on that session and the baseline alone, so reading every
    session (600,000 rows at 100,000 patients, 9 s) is not needed; equal to the alerts
    computed from every session (tested). ``cohort`` None (its build still runs): the plan
    and baseline these alerts need are read from the store, so the alerts never wait for
    the predictions.
    """
    with session_factory(ws.engine)() as session:
        progress = series_progress(session)
        if cohort is None:
            cohort = patient_columns(session, ALERT_INPUTS)
        ids = (in_treatment(cohort, progress) if only_in_treatment
               else pd.Index(progress[ID_COLUMN]))
        latest = sessions_frame(session, patient_ids=list(ids), latest_only=True)
    table = cohort_alerts(cohort, latest, ids, latest_only=True)
    return table, len(ids)


def alert_counts(table: pd.DataFrame) -> pd.DataFrame:
    """Patients per alert kind (Home's summary of ``alerts_overview``): kind, severity, how
    many patients, and one example's wording; high severity first, then most patients."""
    columns = ["alert", "severity", "patients", "example"]
    if table.empty:
        return pd.DataFrame(columns=columns)
    grouped = table.groupby(["kind", "severity"], sort=False).agg(
        patients=(ID_COLUMN, "nunique"), example=("message", "first")).reset_index()
    grouped["_order"] = grouped["severity"] != "high"
    grouped = grouped.sort_values(["_order", "patients", "kind"],
                                  ascending=[True, False, True], kind="stable")
    return grouped.rename(columns={"kind": "alert"})[columns].reset_index(drop=True)
