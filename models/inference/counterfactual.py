"""Counterfactuals: the smallest change to what the clinic controls that reaches a target.

Only the schema's modifiable inputs (route, dose, psychotherapy, sessions per week, planned
sessions, benzodiazepine dose) are searched, and only over clinically allowed values: the
schema ranges and the route-specific dose limits (``ROUTE_DOSE_LIMITS``). What the patient
brings is never changed. The search is an exhaustive grid over those few inputs (a few
thousand candidate plans), predicted in one batch, so it is exact on the grid and fast.

Distance (how big a change is), used to rank the options:

* ``n_changed``: how many inputs differ from the patient's current plan (ranked first:
  fewer things to change is easier to carry out and to explain);
* ``distance``: the sum over changed inputs of the normalised change: |Δ| / (allowed range)
  for numbers (so each number contributes at most 1) and 1 for a changed category.

A medication that clinical-reference §2 says weakens the outcome when higher (``never_raise``
in ``models.contract.directions``: the benzodiazepine dose) is only ever kept or lowered: the
grid holds no value above the current dose, whatever the target.

Options are sorted by ``(n_changed, distance)``. Diversity: an option is skipped when it
contains every change of an option already chosen (it adds changes without need), and at
most one option is kept per set of changed inputs.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from models.contract.directions import never_raise
from models.contract.doses import dose_feature_for, is_missing, not_applicable
from models.contract.schema import (
    DOSE_FEATURES,
    ESKETAMINE_DOSES_MG,
    ESKETAMINE_ROUTE,
    ROUTE_DOSE_LIMITS,
    feature,
    modifiable_feature_names,
    outcome,
)
from models.store.modelset import ModelSet

log = logging.getLogger(__name__)

DOSE_STEPS = 6  # dose grid points per route between its limits
BENZO_GRID = (0.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0)
PLANNED_GRID = (4, 6, 8, 10, 12)
ROUTE = "route"


@dataclass(frozen=True)
class Target:
    """``P(outcome)`` must end ``above`` or ``below`` ``threshold`` (0-1 scale)."""

    outcome: str
    direction: Literal["above", "below"]
    threshold: float

    def met(self, proba: np.ndarray) -> np.ndarray:
        """Which predicted probabilities satisfy this target."""
        if self.direction == "above":
            return proba > self.threshold
        return proba < self.threshold

    def describe(self) -> str:
        """e.g. 'P(response) above 60 %'."""
        return f"P({outcome(self.outcome).label.lower()}) {self.direction} {self.threshold:.0%}"


@dataclass
class Option:
    """One plan that reaches the targets: what changes, how far, and the new predictions."""

    changes: dict[str, tuple[object, object]]  # feature -> (current, new)
    n_changed: int
    distance: float
    predictions: dict[str, float]
    plan: dict[str, object]


@dataclass
class CounterfactualResult:
    """The options found (best first), or a plain message why there are none."""

    targets: list[Target]
    baseline: dict[str, float]
    options: list[Option] = field(default_factory=list)
    already_met: bool = False
    n_searched: int = 0
    message: str = ""
    current: dict[str, object] = field(default_factory=dict)  # the plan searched from

    @property
    def reachable(self) -> bool:
        """Whether any allowed plan (or the current one) reaches every target."""
        return self.already_met or bool(self.options)


def _numeric_grid(name: str, current: object) -> list[float] | list[int]:
    spec = feature(name)
    if name == "benzo_dose_mg":
        values = list(BENZO_GRID)
    elif name == "planned_sessions":
        values = list(PLANNED_GRID)
    else:
        values = list(np.arange(spec.min, spec.max + 1))
    known = current is not None and spec.min <= float(current) <= spec.max
    if known:
        values.append(float(current))
    if name in never_raise():
        # The reference says more of this medication weakens the outcome: keep or lower it,
        # never start or raise it. Without a recorded dose there is nothing to keep.
        if not known:
            raise ValueError(f"{spec.label} is missing or out of range ({current!r}); enter "
                             "the current dose before searching for changes")
        values = [v for v in values if v <= float(current)]  # type: ignore[arg-type]
    kept = sorted({float(v) for v in values if spec.min <= v <= spec.max})
    return [int(v) for v in kept] if spec.dtype == "int" else kept


def dose_grid(route: str, current: float | None = None) -> list[float]:
    """Allowed doses for a route in its unit: esketamine's fixed mg steps (28/56/84), ketamine
    evenly spaced between the route's mg/kg limits (+ the current dose)."""
    if route == ESKETAMINE_ROUTE:
        return [float(v) for v in ESKETAMINE_DOSES_MG]
    lo, hi = ROUTE_DOSE_LIMITS[route]
    values = {round(float(v), 3) for v in np.linspace(lo, hi, DOSE_STEPS)}
    if current is not None and lo <= float(current) <= hi:
        values.add(float(current))
    return sorted(values)


def candidate_plans(patient: Mapping[str, object]) -> pd.DataFrame:
    """Every allowed combination of the modifiable inputs (one row per plan)."""
    others = [n for n in modifiable_feature_names() if n not in (ROUTE, *DOSE_FEATURES)]
    axes: list[list[object]] = []
    for name in others:
        spec = feature(name)
        if spec.dtype == "category":
            axes.append(list(spec.categories))
        else:
            axes.append(_numeric_grid(name, patient.get(name)))
    rest = pd.DataFrame(list(itertools.product(*axes)), columns=others)
    blocks = []
    for route in feature(ROUTE).categories:
        unit = dose_feature_for(route)
        current = patient.get(unit) if patient.get(ROUTE) == route else None
        doses = dose_grid(route, None if is_missing(current) else current)  # type: ignore
        other = next(n for n in DOSE_FEATURES if n != unit)
        block = rest.merge(pd.DataFrame({ROUTE: route, unit: doses, other: np.nan}),
                           how="cross")
        blocks.append(block[[*others, ROUTE, *DOSE_FEATURES]])
    return pd.concat(blocks, ignore_index=True)


def _distances(plans: pd.DataFrame, patient: Mapping[str, object]) -> tuple[np.ndarray, np.ndarray]:
    """(n_changed, normalised distance) of each plan from the patient's current plan."""
    n_changed = np.zeros(len(plans), dtype=int)
    distance = np.zeros(len(plans))
    for name in plans.columns:
        spec = feature(name)
        current = patient.get(name)
        if name in DOSE_FEATURES:  # the two dose columns count as one input, below
            continue
        if spec.dtype == "category":
            changed = (plans[name].astype(str) != str(current)).to_numpy()
            step = changed.astype(float)
        else:
            values = plans[name].to_numpy(dtype=float)
            cur = float(current) if current is not None else np.nan
            changed = ~np.isclose(values, cur)
            step = np.where(changed, np.abs(values - cur) / (spec.max - spec.min), 0.0)
            step = np.nan_to_num(step, nan=1.0)
        n_changed += changed
        distance += step
    changed, step = _dose_distance(plans, patient)
    return n_changed + changed, distance + step


def _dose_distance(plans: pd.DataFrame, patient: Mapping[str, object]
                   ) -> tuple[np.ndarray, np.ndarray]:
    """The dose as one input: a change within its unit scaled by the range, a change of unit
    (ketamine per kg <-> esketamine mg, which goes with a route change) one full step."""
    changed = np.zeros(len(plans), dtype=bool)
    step = np.zeros(len(plans))
    routes = plans[ROUTE].astype(str).to_numpy()
    for name in DOSE_FEATURES:
        spec = feature(name)
        here = np.array([dose_feature_for(r) == name for r in routes])
        current = patient.get(name)
        cur = np.nan if is_missing(current) else float(current)  # type: ignore[arg-type]
        values = plans[name].to_numpy(dtype=float)
        moved = here & ~np.isclose(values, cur)
        changed |= moved
        step += np.where(moved, np.nan_to_num(np.abs(values - cur) / (spec.max - spec.min),
                                              nan=1.0), 0.0)
    return changed.astype(int), step


def _patient_frame(patient: Mapping[str, object], plans: pd.DataFrame) -> pd.DataFrame:
    fixed = {k: v for k, v in patient.items() if k not in plans.columns}
    frame = plans.copy()
    for name, value in fixed.items():
        frame[name] = value
    return frame


def _dominated(changes: dict[str, tuple[object, object]], chosen: Sequence[Option]) -> bool:
    for option in chosen:
        if set(option.changes) == set(changes):
            return True
        if all(changes.get(k) == v for k, v in option.changes.items()):
            return True
    return False


def find_counterfactuals(model_set: ModelSet, patient: Mapping[str, object],
                         targets: Sequence[Target], max_options: int = 5) -> CounterfactualResult:
    """Smallest allowed changes to the modifiable inputs that meet every target.

    Returns up to ``max_options`` diverse options sorted by ``(n_changed, distance)``; when
    no allowed plan reaches the targets, ``options`` is empty and ``message`` says so.
    """
    targets = list(targets)
    patient = dict(patient)
    base = model_set.predict_proba(pd.DataFrame([patient])).iloc[0]
    result = CounterfactualResult(targets, {k: float(v) for k, v in base.items()},
                                  current=patient)
    if all(t.met(np.array([base[t.outcome]]))[0] for t in targets):
        result.already_met = True
        result.message = "The current plan already meets the target."
        return result
    plans = candidate_plans(patient)
    proba = model_set.predict_proba(_patient_frame(patient, plans))
    ok = np.ones(len(plans), dtype=bool)
    for target in targets:
        ok &= target.met(proba[target.outcome].to_numpy())
    result.n_searched = len(plans)
    if not ok.any():
        best = {t.outcome: float(proba[t.outcome].max() if t.direction == "above"
                                 else proba[t.outcome].min()) for t in targets}
        closest = "; ".join(f"best reachable P({outcome(k).label.lower()}) {v:.0%}"
                            for k, v in best.items())
        result.message = (f"Not reachable within the clinical limits: none of the "
                          f"{len(plans):,} allowed plans meets "
                          f"{' and '.join(t.describe() for t in targets)} ({closest}).")
        log.info("counterfactual not reachable: %s", result.message)
        return result
    n_changed, distance = _distances(plans, patient)
    order = np.lexsort((distance, n_changed))
    for i in order[ok[order]]:
        row = plans.iloc[i]
        changes = {name: (patient.get(name), _native(row[name])) for name in plans.columns
                   if _differs(feature(name).dtype, patient.get(name), row[name])
                   and not not_applicable(name, row[ROUTE])}
        if _dominated(changes, result.options):
            continue
        result.options.append(Option(changes, int(n_changed[i]), float(distance[i]),
                                     {k: float(v) for k, v in proba.iloc[i].items()},
                                     {**patient, **{k: _native(v) for k, v in row.items()}}))
        if len(result.options) >= max_options:
            break
    result.message = f"{len(result.options)} option(s) from {len(plans):,} allowed plans."
    return result


def _differs(dtype: str, current: object, new: object) -> bool:
    if dtype == "category":
        return str(current) != str(new)
    if is_missing(current) or is_missing(new):
        return is_missing(current) != is_missing(new)
    return not np.isclose(float(current), float(new))  # type: ignore[arg-type]


def _native(value: object) -> object:
    """numpy scalars -> plain Python (for session state and display); NaN -> None."""
    value = value.item() if isinstance(value, np.generic) else value
    return None if is_missing(value) else value
