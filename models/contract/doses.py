"""Dose units by route: ketamine per kg, intranasal esketamine in fixed mg per session.

clinical-reference.md §6: "ketamine IV/IM in mg/kg; intranasal esketamine in fixed mg (56 or
84 mg per session in the label), never per kg". The store has no body weight, so one unit is
never converted into the other: each route's dose has its own column, the other one is empty.
Every entry path (validation, forms, imports, CDS orders) asks these functions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from models.contract.schema import (
    DOSE_FEATURE_BY_ROUTE,
    DOSE_FEATURES,
    ESKETAMINE_DOSES_MG,
    ESKETAMINE_ROUTE,
    ESKETAMINE_TYPICAL_MG,
    MODEL_DOSE,
    ROUTE_DOSE_LIMITS,
    ROUTE_LABELS,
    ROUTE_TYPICAL_DOSE,
    ROUTES,
)


def dose_feature_for(route: object) -> str:
    """The dose column a route is dosed in (mg/kg for ketamine, mg for esketamine)."""
    return DOSE_FEATURE_BY_ROUTE.get(str(route), "dose_mg_per_kg")


def dose_allowed_text(route: object) -> str:
    """What dose a route allows, in its own unit, for error messages and form help."""
    if str(route) == ESKETAMINE_ROUTE:
        doses = ", ".join(str(d) for d in ESKETAMINE_DOSES_MG[:-1])
        return f"{doses} or {ESKETAMINE_DOSES_MG[-1]} mg per session"
    low, high = ROUTE_DOSE_LIMITS.get(str(route), (0.2, 3.0))
    return f"{low:g} to {high:g} mg/kg"


def is_missing(value: object) -> bool:
    return value is None or value == "" or (isinstance(value, float) and value != value)


def dose_problems(route: object, mg_per_kg: object, esketamine_mg: object,
                  limits: bool = True) -> list[tuple[str, str]]:
    """(field, message) for a dose that does not fit its route: wrong unit, both, none, limits.

    Exactly one of the two dose fields is set, chosen by the route; the other is missing.
    ``limits=False`` leaves the ketamine mg/kg route limits (plan-level settings) unchecked,
    as for a session record; the esketamine mg steps are always checked.
    """
    route = str(route)
    if route not in ROUTES:
        return []
    if route == ESKETAMINE_ROUTE:
        out = []
        if not is_missing(mg_per_kg):
            out.append(("dose_mg_per_kg", "intranasal esketamine is dosed in mg (28, 56 or "
                        "84 mg), not mg/kg; leave dose_mg_per_kg empty and give "
                        "esketamine_dose_mg"))
        if is_missing(esketamine_mg):
            out.append(("esketamine_dose_mg", "missing value; intranasal esketamine needs its "
                        f"dose in mg ({dose_allowed_text(route)})"))
        elif float(esketamine_mg) not in ESKETAMINE_DOSES_MG:
            out.append(("esketamine_dose_mg", f"{float(esketamine_mg):g} mg is not an "
                        f"esketamine dose; allowed {dose_allowed_text(route)}"))
        return out
    out = []
    if not is_missing(esketamine_mg):
        out.append(("esketamine_dose_mg", f"{route} ketamine is dosed in mg/kg; "
                    "esketamine_dose_mg is only for intranasal esketamine (leave it empty)"))
    if is_missing(mg_per_kg):
        out.append(("dose_mg_per_kg", f"missing value; {route} ketamine needs its dose in "
                    f"mg/kg ({dose_allowed_text(route)})"))
    elif limits:
        low, high = ROUTE_DOSE_LIMITS[route]
        if not low <= float(mg_per_kg) <= high:
            out.append(("dose_mg_per_kg", f"{float(mg_per_kg):g} mg/kg is outside the limits "
                        f"for route {route} ({low:g} to {high:g} mg/kg)"))
    return out


# A number in the other unit: an esketamine dose at or below the largest mg/kg a ketamine
# route allows reads as per kg; a ketamine dose at or above the smallest esketamine mg step
# reads as mg. The ranges do not overlap, so such a value is refused by name, never converted.
_PER_KG_AT_MOST = max(high for _, high in ROUTE_DOSE_LIMITS.values())
_MG_AT_LEAST = min(ESKETAMINE_DOSES_MG)


def wrong_unit(route: object, value: object, limits: bool = True) -> tuple[str, str] | None:
    """(field, message) when the dose given for ``route`` is a number in the other route's
    unit (0.5 for esketamine, 56 for IV ketamine), else None. The message names the unit
    and the doses the route allows (``limits=False``: a session's mg/kg, no route limits)."""
    route = str(route)
    if route not in ROUTES or is_missing(value):
        return None
    number = float(value)  # type: ignore[arg-type]
    if route == ESKETAMINE_ROUTE:
        if number in ESKETAMINE_DOSES_MG or number > _PER_KG_AT_MOST:
            return None
        return ("esketamine_dose_mg", f"{number:g} is not an esketamine dose: intranasal "
                f"esketamine is dosed in mg ({dose_allowed_text(route)}), never per kg")
    if number < _MG_AT_LEAST:
        return None
    allowed = f" ({dose_allowed_text(route)})" if limits else ""
    label = ROUTE_LABELS[ROUTES.index(route)]
    return ("dose_mg_per_kg", f"{number:g} is not a dose of {label}: ketamine is dosed in "
            f"mg/kg{allowed}; a dose in mg (28, 56 or 84) is for intranasal esketamine only")


def dose_text(route: object, mg_per_kg: object, esketamine_mg: object) -> str:
    """The dose in the clinician's unit for its route, e.g. ``84 mg`` or ``0.5 mg/kg``."""
    if str(route) == ESKETAMINE_ROUTE:
        return "—" if is_missing(esketamine_mg) else f"{float(esketamine_mg):g} mg"
    return "—" if is_missing(mg_per_kg) else f"{float(mg_per_kg):.2f} mg/kg"


def dose_fields(route: object, value: object) -> dict[str, float | None]:
    """Both dose columns for one dose given in its route's unit (the other one empty)."""
    name = dose_feature_for(route)
    number = None if is_missing(value) else float(value)
    return {f: (number if f == name else None) for f in DOSE_FEATURES}


def dose_unit(route: object) -> str:
    """The unit a route is dosed in."""
    return "mg" if str(route) == ESKETAMINE_ROUTE else "mg/kg"


def not_applicable(name: str, route: object) -> bool:
    """True for the dose column a route is not dosed in (shown nowhere for that patient)."""
    return name in DOSE_FEATURES and name != dose_feature_for(route)


def relative_doses(route: object, mg_per_kg: object, esketamine_mg: object) -> np.ndarray:
    """The recorded dose relative to its route's typical dose (the generator's mechanics).

    Ketamine: mg/kg / ``ROUTE_TYPICAL_DOSE`` (IV 0.5 mg/kg = 1.0); intranasal esketamine:
    mg / 56 (56 mg = 1.0, 84 mg = 1.5). Each row reads only its route's own dose column
    (the other unit is never converted or read); NaN where the route is unknown or its dose
    missing. The synthetic generator's outcome mechanics (``training.generator.dosing``);
    the models read ``model_doses``. Arguments are equal-length sequences.
    """
    routes = pd.Series(np.asarray(route, dtype=object)).astype(str)
    per_kg = pd.to_numeric(pd.Series(np.asarray(mg_per_kg, dtype=object)),
                           errors="coerce").to_numpy(dtype=float)
    mg = pd.to_numeric(pd.Series(np.asarray(esketamine_mg, dtype=object)),
                       errors="coerce").to_numpy(dtype=float)
    typical = routes.map(ROUTE_TYPICAL_DOSE).to_numpy(dtype=float)
    esketamine = (routes == ESKETAMINE_ROUTE).to_numpy()
    return np.where(esketamine, mg / ESKETAMINE_TYPICAL_MG, per_kg / typical)


def model_doses(route: object, mg_per_kg: object, esketamine_mg: object) -> np.ndarray:
    """The models' one dose input (``schema.MODEL_DOSE``): ketamine mg/kg as recorded,
    intranasal esketamine mg / 56 (56 mg = 1.0, 84 mg = 1.5: the generator's relative dose
    of esketamine, ``relative_doses``). Each row reads only its route's own column (the
    other unit is never converted or read); NaN where the route is unknown or its dose
    missing.

    Why not ``relative_doses`` for ketamine too (mg/kg / the route's typical dose)? Tried
    (issue 30 b): on the 2,000-patient sample the nausea model then learned a falling dose
    effect among ketamine patients (esketamine's 56 mg, all at exactly 1.0 with the
    esketamine route's higher nausea, sat in the middle of the ketamine doses) and the
    planted-direction and monitoring tests failed; ketamine in mg/kg as recorded keeps the
    ketamine models as they were and gives esketamine its dose.
    """
    routes = pd.Series(np.asarray(route, dtype=object)).astype(str)
    per_kg = pd.to_numeric(pd.Series(np.asarray(mg_per_kg, dtype=object)),
                           errors="coerce").to_numpy(dtype=float)
    mg = pd.to_numeric(pd.Series(np.asarray(esketamine_mg, dtype=object)),
                       errors="coerce").to_numpy(dtype=float)
    known = routes.isin(ROUTES).to_numpy()
    esketamine = (routes == ESKETAMINE_ROUTE).to_numpy()
    return np.where(esketamine, mg / ESKETAMINE_TYPICAL_MG, np.where(known, per_kg, np.nan))


def routes_from_codes(codes: np.ndarray) -> np.ndarray:
    """Route names of a model matrix's route column (schema category codes; "" if NaN)."""
    names = np.array([*ROUTES, ""], dtype=object)
    codes = np.asarray(codes, dtype=float)
    index = np.where(np.isfinite(codes), codes, len(ROUTES)).astype(int)
    return names[np.clip(index, 0, len(ROUTES))]


def dose_contributions(contributions: np.ndarray, columns: list[str],
                       routes: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Explanation values per model column -> per clinical input, for the dose.

    The models read one ``MODEL_DOSE`` (``model_doses``); a clinician recorded, and reads,
    the dose in the route's unit. Its share goes to that recorded dose (``dose_mg_per_kg``
    for ketamine routes, ``esketamine_dose_mg`` for esketamine; 0 on the other, which is
    shown nowhere for that patient), so every explanation says "Dose 84 mg" or "Dose 0.5
    mg/kg", never the model's own number. Row sums are unchanged (additivity).
    ``contributions`` is (rows, columns); ``routes`` the route of each row. Returns the
    values and their column names.
    """
    if MODEL_DOSE not in columns:
        return np.asarray(contributions, dtype=float), list(columns)
    values = np.asarray(contributions, dtype=float)
    j = columns.index(MODEL_DOSE)
    esketamine = np.asarray([str(r) == ESKETAMINE_ROUTE for r in routes], dtype=bool)
    share = values[:, j]
    split = {"dose_mg_per_kg": np.where(esketamine, 0.0, share),
             "esketamine_dose_mg": np.where(esketamine, share, 0.0)}
    out = np.column_stack([values[:, :j], *(split[n] for n in DOSE_FEATURES), values[:, j + 1:]])
    return out, [*columns[:j], *DOSE_FEATURES, *columns[j + 1:]]


def matrix_dose_contributions(contributions: np.ndarray, matrix: np.ndarray,
                              columns: list[str]) -> tuple[np.ndarray, list[str]]:
    """``dose_contributions`` with each row's route read from the model matrix."""
    if MODEL_DOSE not in columns or "route" not in columns:
        return dose_contributions(contributions, columns, np.full(len(matrix), ""))
    routes = routes_from_codes(np.asarray(matrix)[:, columns.index("route")])
    return dose_contributions(contributions, columns, routes)


def complete_doses(values: Mapping[str, Any]) -> dict[str, Any]:
    """Values with the dose column the route is not dosed in set empty (None).

    An import or a CDS request that knows the route has, by that, the other unit's dose:
    not applicable (not missing). A value in the wrong unit is dropped here, never
    converted; the route's own dose is left as it is (missing if not given).
    """
    out = dict(values)
    route = out.get("route")
    if is_missing(route) or str(route) not in ROUTES:
        return out
    for name in DOSE_FEATURES:
        if not_applicable(name, route):
            out[name] = None
    return out


# Where a label stands without its value (chart rows, column headers, cohort summaries) the
# two dose inputs are told apart by unit; next to a value both read "Dose" ("Dose 84 mg").
DOSE_LABELS = {"dose_mg_per_kg": "Dose (ketamine, mg/kg)",
               "esketamine_dose_mg": "Dose (esketamine, mg)"}
