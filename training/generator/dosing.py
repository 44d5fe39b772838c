"""Doses in the synthetic cohort: ketamine per kg, intranasal esketamine in fixed mg.

Ketamine (IV, IM, oral/sublingual) doses are drawn around the route's typical mg/kg dose.
Esketamine is given in the label's 56 or 84 mg per session (clinical-reference.md §6): the
same log-normal draw is made for every patient (so the random stream, and every other
column, is what it was when esketamine was drawn per kg) and an esketamine patient whose
draw is at least 1.25 × typical gets 84 mg, the others 56 mg (about 1 in 9 on 84 mg; the mix
is *unsourced*). 28 mg is not drawn: the reference gives no share of 28 mg starts.

The outcome mechanics need one relative dose per patient: dose / the route's typical dose,
with 56 mg the esketamine typical (so 84 mg = 1.5, exactly the old 1.5 mg/kg "equivalent").
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.contract.doses import relative_doses
from models.contract.schema import (
    ESKETAMINE_ROUTE,
    ESKETAMINE_TYPICAL_MG,
    ROUTE_DOSE_LIMITS,
    ROUTE_TYPICAL_DOSE,
)

HIGHER_ESKETAMINE_FROM = 1.25  # relative draw from which an esketamine patient gets 84 mg
DOSE_SPREAD = 0.18  # SD of the log-normal dose draw around the typical dose


def draw_doses(route: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """``dose_mg_per_kg`` for ketamine routes and ``esketamine_dose_mg`` for esketamine
    (each NaN where the other route's unit applies)."""
    n = len(route)
    relative = np.exp(rng.normal(0, DOSE_SPREAD, n))
    esketamine = route == ESKETAMINE_ROUTE
    typical = np.array([ROUTE_TYPICAL_DOSE.get(r, np.nan) for r in route])
    low = np.array([ROUTE_DOSE_LIMITS.get(r, (np.nan, np.nan))[0] for r in route])
    high = np.array([ROUTE_DOSE_LIMITS.get(r, (np.nan, np.nan))[1] for r in route])
    per_kg = np.round(np.clip(typical * relative, low, high) * 20) / 20
    mg = np.where(relative >= HIGHER_ESKETAMINE_FROM, 84.0, float(ESKETAMINE_TYPICAL_MG))
    return {"dose_mg_per_kg": np.where(esketamine, np.nan, per_kg),
            "esketamine_dose_mg": np.where(esketamine, mg, np.nan)}


def relative_dose(p: pd.DataFrame) -> np.ndarray:
    """Dose / the route's typical dose (esketamine: mg / 56), for the outcome mechanics
    (``models.contract.doses.relative_doses``; for esketamine the models' own dose input)."""
    return relative_doses(p["route"].to_numpy(), p["dose_mg_per_kg"].to_numpy(),
                          p["esketamine_dose_mg"].to_numpy())


def exposure_units(route: np.ndarray, mg_per_kg: np.ndarray, mg: np.ndarray) -> np.ndarray:
    """Per-session exposure for the cumulative-dose mechanics of follow-up screens: mg/kg for
    ketamine, mg / 56 for esketamine (56 mg counted as the old typical 1.0). Generator-only:
    never stored or shown, and no body weight is implied."""
    mg_per_kg = np.asarray(mg_per_kg, dtype=float)
    mg = np.asarray(mg, dtype=float)
    out = np.where(np.asarray(route) == ESKETAMINE_ROUTE, mg / ESKETAMINE_TYPICAL_MG, mg_per_kg)
    return np.nan_to_num(out, nan=0.0)
