"""How one input moves a prediction: this patient's curve (ICE) over the cohort's (PDP).

The ICE curve sets one input of one patient to each allowed value and predicts; the
partial dependence does the same for a sample of cohort patients and averages. Both are
one batched prediction. For the dose, "allowed" depends on the route, so the grid is the
patient's route limits and the cohort sample is restricted to patients on that route.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.contract.doses import dose_feature_for, not_applicable
from models.contract.schema import DOSE_FEATURES, ESKETAMINE_DOSES_MG, ROUTE_DOSE_LIMITS, feature
from models.store.modelset import ModelSet

log = logging.getLogger(__name__)

N_POINTS = 21
SAMPLE_SIZE = 300


@dataclass
class Dependence:
    """Grid values with this patient's probability and the cohort mean (and 10-90 % band)."""

    feature: str
    outcome: str
    curve: pd.DataFrame  # columns: value, patient, cohort_mean, cohort_p10, cohort_p90
    patient_value: object
    n_cohort: int
    note: str


def value_grid(name: str, patient: Mapping[str, object], n_points: int = N_POINTS) -> list:
    """The allowed values of one input (route-specific for the dose)."""
    spec = feature(name)
    if spec.dtype == "category":
        return list(spec.categories)
    if spec.dtype == "bool":
        return [False, True]
    if name == "esketamine_dose_mg":  # fixed mg steps, never a continuum
        return [float(v) for v in ESKETAMINE_DOSES_MG]
    lo, hi = float(spec.min), float(spec.max)  # type: ignore[arg-type]
    if name == "dose_mg_per_kg" and patient.get("route") in ROUTE_DOSE_LIMITS:
        lo, hi = ROUTE_DOSE_LIMITS[str(patient["route"])]
    if spec.dtype == "int":
        step = max(1, int(np.ceil((hi - lo) / (n_points - 1))))
        return list(range(int(lo), int(hi) + 1, step))
    return [round(float(v), 4) for v in np.linspace(lo, hi, n_points)]


def _sweep(model_set: ModelSet, rows: pd.DataFrame, name: str, grid: list,
           outcome: str) -> np.ndarray:
    """(len(grid), len(rows)) probabilities with ``name`` set to each grid value."""
    frame = pd.concat([rows.assign(**{name: value}) for value in grid], ignore_index=True)
    proba = model_set.predict_proba(frame)[outcome].to_numpy()
    return proba.reshape(len(grid), len(rows))


def dependence(model_set: ModelSet, patient: Mapping[str, object], cohort: pd.DataFrame,
               name: str, outcome: str, sample_size: int = SAMPLE_SIZE,
               seed: int = 0) -> Dependence:
    """ICE for ``patient`` and partial dependence over a cohort sample, for one input."""
    grid = value_grid(name, patient)
    row = pd.DataFrame([dict(patient)])
    columns = [c for c in row.columns if c in cohort.columns]
    pool = cohort[columns]
    note = f"cohort: a random sample of up to {sample_size} patients"
    if not_applicable(name, patient.get("route")):
        raise ValueError(f"{name} is not how route {patient.get('route')} is dosed "
                         f"(use {dose_feature_for(patient.get('route'))})")
    if name in DOSE_FEATURES and "route" in pool:
        pool = pool[pool["route"].astype(str) == str(patient.get("route"))]
        note += " on the same route"
    sample = pool.sample(min(sample_size, len(pool)), random_state=seed) if len(pool) else pool
    ice = _sweep(model_set, row[columns], name, grid, outcome)[:, 0]
    curve = pd.DataFrame({"value": grid, "patient": ice})
    if len(sample):
        pdp = _sweep(model_set, sample.reset_index(drop=True), name, grid, outcome)
        curve["cohort_mean"] = pdp.mean(axis=1)
        curve["cohort_p10"] = np.quantile(pdp, 0.1, axis=1)
        curve["cohort_p90"] = np.quantile(pdp, 0.9, axis=1)
    log.debug("dependence of %s on %s: %d points, %d cohort patients", outcome, name,
              len(grid), len(sample))
    return Dependence(name, outcome, curve, patient.get(name), len(sample), note)
