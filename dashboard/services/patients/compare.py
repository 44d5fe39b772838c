"""Two to four patients side by side: inputs, predictions and one outcome's contributions."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from dashboard.services.lab.quality import shown_outcomes
from dashboard.services.patients.gaps import (
    GAPS,
    PREDICTION_GAPS,
)
from dashboard.services.patients.listing import patient_row
from dashboard.services.workspace import Workspace, probability_column
from models.contract.doses import dose_feature_for, dose_text
from models.contract.schema import FEATURES, OUTCOMES
from models.inference.explain import explain_frame


@dataclass
class Comparison:
    """Two to four patients side by side: inputs, predictions, one outcome's contributions."""

    patient_ids: list[str]
    inputs: pd.DataFrame  # rows = feature labels, columns = patient ids (formatted values)
    risks: pd.DataFrame  # rows = outcome labels (gated ones left out), columns = patient ids
    contributions: pd.DataFrame  # rows = features, columns = patients (percentage points)
    outcome: str
    differing: list[str]  # feature labels whose values differ between the patients


MAX_COMPARE = 4
NOT_RECORDED = "not recorded"


SHOWN_FEATURES = [f for f in FEATURES if f.name != "esketamine_dose_mg"]  # one Dose row


def _shown_values(row: pd.Series) -> list[str]:
    """Each input in clinical units; a gap says so instead of showing its placeholder. The
    dose is one row, each patient's in the unit of its route ("56 mg", "0.50 mg/kg")."""
    missing = set(row.get(GAPS, []) or [])
    out = []
    for f in SHOWN_FEATURES:
        if f.name == "dose_mg_per_kg":
            name = dose_feature_for(row.get("route"))
            out.append(NOT_RECORDED if name in missing else dose_text(
                row.get("route"), row.get("dose_mg_per_kg"), row.get("esketamine_dose_mg")))
        else:
            out.append(NOT_RECORDED if f.name in missing else f.format_value(row[f.name]))
    return out


def compare_patients(ws: Workspace, cohort: pd.DataFrame, patient_ids: list[str],
                     name: str) -> Comparison:
    """Align 2–4 patients feature by feature (ValueError outside that range, or when
    ``name`` fails the quality gate: a gated outcome has no contributions to show)."""
    ids = list(dict.fromkeys(patient_ids))
    if not 2 <= len(ids) <= MAX_COMPARE:
        raise ValueError(f"choose 2 to {MAX_COMPARE} different patients (got {len(ids)})")
    shown = shown_outcomes(ws.card)
    if name not in shown:
        raise ValueError(f"{name}: the quality gate withholds this outcome's explanation")
    rows = [patient_row(cohort, pid) for pid in ids]
    inputs = pd.DataFrame({pid: _shown_values(r) for pid, r in zip(ids, rows, strict=True)},
                          index=[f.label for f in SHOWN_FEATURES])
    passing = [o for o in OUTCOMES if o.name in shown]
    risks = pd.DataFrame({pid: [float(r[probability_column(o.name)]) for o in passing]
                          for pid, r in zip(ids, rows, strict=True)},
                         index=[o.label for o in passing])
    frame = cohort.loc[ids, [f.name for f in FEATURES]]
    contributions = explain_frame(ws.model_set, frame, name).effects.T * 100  # points
    contributions.columns = ids
    if "esketamine_dose_mg" in contributions.index:  # one dose row (the other unit's is 0)
        contributions.loc["dose_mg_per_kg"] += contributions.loc["esketamine_dose_mg"]
        contributions = contributions.drop(index="esketamine_dose_mg")
    for pid, r in zip(ids, rows, strict=True):  # placeholders explain nothing (issue 7)
        if r.get(PREDICTION_GAPS):
            contributions[pid] = float("nan")
    differing = [label for label, values in inputs.iterrows() if values.nunique() > 1]
    return Comparison(ids, inputs, risks, contributions, name, differing)
