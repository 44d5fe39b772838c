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

from models.contract.schema import (
    DOSE_FEATURE_BY_ROUTE,
    DOSE_FEATURES,
    ESKETAMINE_DOSES_MG,
    ESKETAMINE_ROUTE,
    ROUTE_DOSE_LIMITS,
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


def fold_not_applicable(contributions: np.ndarray, values: np.ndarray,
                        columns: list[str]) -> np.ndarray:
    """Explanation values with the empty dose column's share moved onto the given dose.

    A tree sends a missing dose down its own branch, so the not-applicable column gets a
    SHAP value; it belongs to "the dose this patient has" (the route's unit), and showing
    it as a separate value would display an empty dose. When the given dose is no model
    column (esketamine mg is not a model input yet), the share goes to ``route``: an
    empty mg/kg dose says "not a ketamine route". Row sums are unchanged (additivity).
    ``contributions`` and ``values`` are (rows, columns) in ``columns`` order; rows where
    both doses are empty (unknown) are left as they are.
    """
    out = np.array(contributions, dtype=float, copy=True)
    for empty_name, given_name in (DOSE_FEATURES, DOSE_FEATURES[::-1]):
        if empty_name not in columns:
            continue
        empty = columns.index(empty_name)
        if given_name in columns:
            given = columns.index(given_name)
            rows = np.isnan(values[:, empty]) & ~np.isnan(values[:, given])
        elif "route" in columns:
            given = columns.index("route")
            rows = np.isnan(values[:, empty]) & ~np.isnan(values[:, given])
        else:
            continue
        out[rows, given] += out[rows, empty]
        out[rows, empty] = 0.0
    return out


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
