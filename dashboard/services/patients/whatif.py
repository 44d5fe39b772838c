"""What-if explorer services: de-identified starting points, scenario predictions and
explanations, scenario comparison and counterfactual tables (no Streamlit here).

Trainees use this page, so patients are only ever shown under a stable pseudonym
(``records.security.deidentify``): names, ids and free text never reach it. Outcomes failing the
quality gate (``models.clinical.quality_gate``) are left out of every table here; the page names
them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dashboard.services.lab.quality import shown_outcomes
from dashboard.services.patients.gaps import predictable
from models.clinical.risk_wording import percent_text, percent_value, percent_values
from models.contract.doses import (
    DOSE_LABELS,
    complete_doses,
    dose_problems,
    dose_text,
    is_missing,
    not_applicable,
)
from models.contract.schema import DOSE_FEATURES, FEATURES, ID_COLUMN, OUTCOMES, defaults, feature
from models.inference.counterfactual import CounterfactualResult
from models.inference.explain import explain_frame
from models.store.modelset import ModelSet
from records.security.deidentify import deidentify, pseudonym_key

log = logging.getLogger(__name__)

MAX_COMPARED = 4
FEATURE_NAMES = [f.name for f in FEATURES]
CLINIC = [f.name for f in FEATURES if f.modifiable]
PATIENT = [f.name for f in FEATURES if not f.modifiable]
LABELS = {f.name: f.label for f in FEATURES}
# The two dose units apart wherever labels stand alone (chart rows, tables)
LABELS.update(DOSE_LABELS)


def deidentified_patients(cohort: pd.DataFrame, key: bytes | None = None) -> pd.DataFrame:
    """The store's patients with inputs only, indexed by pseudonym (no name, id or notes).

    Patients with missing model inputs are left out: their placeholders are not values to
    explore from.
    """
    cohort = predictable(cohort)
    if cohort.empty:
        return pd.DataFrame(columns=FEATURE_NAMES)
    columns = [ID_COLUMN, *[c for c in FEATURE_NAMES if c in cohort.columns]]
    frame = deidentify(cohort[columns].reset_index(drop=True),
                       key if key is not None else pseudonym_key())
    return frame.set_index(ID_COLUMN).sort_index()[columns[1:]]


def _native(value: object) -> object:
    return value.item() if isinstance(value, np.generic) else value


def inputs_from(row: pd.Series | Mapping[str, object] | None) -> dict[str, object]:
    """Every schema input as plain Python values (defaults fill anything missing)."""
    values = defaults()
    if row is not None:
        for name in FEATURE_NAMES:
            value = row.get(name) if hasattr(row, "get") else None
            if value is not None and not (isinstance(value, float) and np.isnan(value)):
                values[name] = _native(value)
    values = complete_doses(values)  # the other route's dose: empty, never the default
    for spec in FEATURES:
        if is_missing(values.get(spec.name)) and spec.nullable:
            values[spec.name] = None
        elif spec.dtype == "bool":
            values[spec.name] = bool(values[spec.name])
        elif spec.dtype == "int":
            values[spec.name] = int(round(float(values[spec.name])))  # type: ignore[arg-type]
        elif spec.dtype == "float":
            values[spec.name] = float(values[spec.name])  # type: ignore[arg-type]
    return values


def scenario_problems(values: Mapping[str, object]) -> list[str]:
    """Why a scenario cannot be predicted: an empty number, a value outside the schema's
    range, or a dose outside the chosen route's limits (nothing is moved silently)."""
    problems = []
    for spec in FEATURES:
        if spec.dtype not in ("int", "float") or spec.name in DOSE_FEATURES:
            continue
        value = values.get(spec.name)
        if value is None:
            problems.append(f"{spec.label}: enter a value ({spec.allowed_text()})")
        elif not spec.min <= float(value) <= spec.max:  # type: ignore[arg-type]
            problems.append(f"{spec.label}: {spec.format_value(value)} is outside the allowed "
                            f"range ({spec.allowed_text()})")
    route = values.get("route")
    for _, message in dose_problems(route, values.get("dose_mg_per_kg"),
                                    values.get("esketamine_dose_mg")):
        problems.append(f"Dose ({feature('route').category_label(str(route))}): {message}")
    return problems


def predict(model_set: ModelSet, scenarios: Mapping[str, Mapping[str, object]]) -> pd.DataFrame:
    """Probability of every outcome (rows) for each named scenario (columns), one batch."""
    frame = pd.DataFrame([dict(v) for v in scenarios.values()], index=list(scenarios))
    return model_set.predict_proba(frame).T


def prediction_table(proba: pd.DataFrame, card: Mapping[str, object] | None) -> pd.DataFrame:
    """Outcome labels with baseline, scenario and the change (percentage points), for the
    outcomes that pass the quality gate of ``card``."""
    labels = {o.name: o.label for o in OUTCOMES}
    proba = proba.loc[[n for n in proba.index if n in shown_outcomes(card)]]
    out = pd.DataFrame({"outcome": [labels.get(n, n) for n in proba.index],
                        "baseline": percent_values(proba["baseline"]).to_numpy(),
                        "scenario": percent_values(proba["scenario"]).to_numpy()})
    out["change (points)"] = ((proba["scenario"] - proba["baseline"]) * 100).round().to_numpy()
    return out


@dataclass
class ScenarioExplanation:
    """Per-feature probability effects of baseline and scenario for one outcome."""

    outcome: str
    base_proba: float
    baseline: pd.Series  # effects (0-1) per feature
    scenario: pd.Series
    table: pd.DataFrame  # input, values, effects in points, change, sorted by |change|


def explain_scenarios(model_set: ModelSet, baseline: Mapping[str, object],
                      scenario: Mapping[str, object], outcome: str) -> ScenarioExplanation:
    """Exact SHAP for both plans and how each input's contribution moved between them
    (the page offers only outcomes that pass the quality gate)."""
    frame = pd.DataFrame([dict(baseline), dict(scenario)])
    explanation = explain_frame(model_set, frame, outcome)
    before, after = explanation.effects.iloc[0], explanation.effects.iloc[1]
    rows = []
    for name in before.index:
        if name in DOSE_FEATURES:  # one row each for the unit used by either plan
            if not_applicable(name, baseline.get("route")) and not_applicable(
                    name, scenario.get("route")):
                continue
        rows.append({"input": LABELS[name], "baseline value": _shown(name, baseline),
                     "scenario value": _shown(name, scenario),
                     "baseline effect": before[name] * 100, "scenario effect": after[name] * 100,
                     "change": (after[name] - before[name]) * 100})
    table = pd.DataFrame(rows)
    # largest change first; among unchanged inputs, the largest effect (what matters most)
    order = np.lexsort((-table["scenario effect"].abs().to_numpy(),
                        -table["change"].abs().round(6).to_numpy()))
    table = table.iloc[order]
    return ScenarioExplanation(outcome, explanation.base_proba, before, after,
                               table.reset_index(drop=True))


def _shown(name: str, values: Mapping[str, object]) -> str:
    """A value as the clinician reads it; the dose in the plan's own unit ("—" if none)."""
    if name in DOSE_FEATURES:
        return dose_text(values.get("route"), values.get("dose_mg_per_kg"),
                         values.get("esketamine_dose_mg")) if not not_applicable(
            name, values.get("route")) else "—"
    return feature(name).format_value(values.get(name))


def changed_inputs(baseline: Mapping[str, object], scenario: Mapping[str, object]) -> list[str]:
    """'Dose: 0.50 mg/kg → 0.80 mg/kg' (or '0.50 mg/kg → 56 mg') for each input that differs."""
    out = []
    for spec in FEATURES:
        if spec.name == "esketamine_dose_mg":
            continue  # the dose is one line, in each plan's unit
        if spec.name == "dose_mg_per_kg":
            before = dose_text(baseline.get("route"), baseline.get("dose_mg_per_kg"),
                               baseline.get("esketamine_dose_mg"))
            after = dose_text(scenario.get("route"), scenario.get("dose_mg_per_kg"),
                              scenario.get("esketamine_dose_mg"))
        else:
            before = spec.format_value(baseline.get(spec.name))
            after = spec.format_value(scenario.get(spec.name))
        if before != after:
            out.append(f"{spec.label}: {before} → {after}")
    return out


def compare_table(model_set: ModelSet, baseline: Mapping[str, object],
                  saved: Mapping[str, Mapping[str, object]],
                  card: Mapping[str, object] | None) -> pd.DataFrame:
    """Baseline and up to four saved scenarios: every outcome passing the quality gate of
    ``card``, plus what was changed."""
    chosen = dict(list(saved.items())[:MAX_COMPARED])
    proba = predict(model_set, {"baseline": baseline, **chosen})
    proba = proba.loc[[n for n in proba.index if n in shown_outcomes(card)]]
    labels = {o.name: o.label for o in OUTCOMES}
    table = proba.rename(index=labels).map(percent_text)
    changes = {name: "; ".join(changed_inputs(baseline, values)) or "no change"
               for name, values in {"baseline": baseline, **chosen}.items()}
    table.loc["changed inputs"] = pd.Series(changes)
    return table


def options_table(result: CounterfactualResult,
                  card: Mapping[str, object] | None) -> pd.DataFrame:
    """One row per counterfactual option: the changes, their size and the new predictions
    of the outcomes that pass the quality gate of ``card``."""
    shown = shown_outcomes(card)
    rows = []
    for rank, option in enumerate(result.options, start=1):
        changes = "; ".join(_option_change(n, old, new, result.current, option.plan)
                            for n, (old, new) in option.changes.items())
        row: dict[str, object] = {"option": rank, "changes": changes,
                                  "inputs changed": option.n_changed,
                                  "distance": round(option.distance, 3)}
        for spec in OUTCOMES:
            if spec.name in shown:
                value = option.predictions.get(spec.name)
                row[spec.label] = None if value is None else percent_value(value)
        rows.append(row)
    return pd.DataFrame(rows)


def _option_change(name: str, old: object, new: object, current: Mapping[str, object],
                   plan: Mapping[str, object]) -> str:
    """'Route: … → …', and the dose in each plan's own unit ('Dose: 0.50 mg/kg → 56 mg'):
    the dose a route is not dosed in is never a value, nor 'not applicable'."""
    if name in DOSE_FEATURES:
        before, after = (dose_text(v.get("route"), v.get("dose_mg_per_kg"),
                                   v.get("esketamine_dose_mg")) for v in (current, plan))
        return f"Dose: {before} → {after}"
    spec = feature(name)
    return f"{spec.label}: {spec.format_value(old)} → {spec.format_value(new)}"
