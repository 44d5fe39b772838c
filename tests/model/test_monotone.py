"""Sourced directions (clinical-reference §2/§3) hold as monotone constraints, and the
counterfactual search never starts or raises a medication the reference says weakens the
outcome (issue 23, defect 4)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.contract.directions import (
    SOURCED_DIRECTIONS,
    directions_for,
    monotone_constraints,
    never_raise,
    with_monotone,
)
from models.contract.schema import feature, model_feature_names
from models.inference.counterfactual import Target, candidate_plans, find_counterfactuals

CONSTRAINED = sorted({(d.outcome, d.feature, d.direction) for d in SOURCED_DIRECTIONS})


def test_table_has_a_source_for_every_entry_and_no_category() -> None:
    assert len(CONSTRAINED) >= 12
    for entry in SOURCED_DIRECTIONS:
        assert entry.source.strip()
        assert feature(entry.feature).dtype != "category"
    assert directions_for("response")["benzo_dose_mg"] == -1
    assert directions_for("remission")["bmi"] == 1
    assert directions_for("dropout") == {}


def test_category_feature_cannot_take_a_constraint(monkeypatch) -> None:
    import models.contract.directions as directions

    monkeypatch.setattr(directions, "SOURCED_DIRECTIONS", (directions.SourcedDirection(
        "response", "route", 1, "test"),))
    with pytest.raises(ValueError, match="route is a category feature"):
        monotone_constraints("response", model_feature_names())


def test_constraint_vector_follows_feature_order() -> None:
    names = model_feature_names()
    vector = monotone_constraints("response", names)
    assert vector[names.index("bmi")] == 1 and vector[names.index("benzo_dose_mg")] == -1
    assert vector[names.index("failed_ad_trials")] == 0  # direction unsourced: free
    assert "monotone_constraints" not in with_monotone({"a": 1}, "dropout", names)


def test_fitted_boosters_carry_the_constraints(trained) -> None:
    for name, model in trained.model_set.outcome_models.items():
        vector = model.params_.get("monotone_constraints", [0] * len(model.feature_names_))
        assert vector == monotone_constraints(name, model.feature_names_)


def _grid(name: str) -> np.ndarray:
    spec = feature(name)
    if spec.dtype == "bool":
        return np.array([0.0, 1.0])
    return np.linspace(spec.min, spec.max, 25)


@pytest.mark.parametrize(("outcome", "name", "direction"), CONSTRAINED)
def test_prediction_moves_only_the_sourced_way(trained, outcome: str, name: str,
                                               direction: int) -> None:
    """For 60 random held-out patients, P(outcome) along the feature's whole range is
    non-decreasing (+1) or non-increasing (-1), every other input held fixed."""
    rng = np.random.default_rng(7)
    holdout = trained.holdout.patients
    patients = holdout.iloc[rng.choice(len(holdout), 60, replace=False)]
    grid = _grid(name)
    rows = patients.loc[patients.index.repeat(len(grid))].reset_index(drop=True)
    rows[name] = np.tile(grid, len(patients))
    if feature(name).dtype == "bool":
        rows[name] = rows[name].astype(bool)
    logit = trained.model_set.outcome_models[outcome].predict_logit(
        _model_frame(rows)).reshape(len(patients), len(grid))
    steps = np.diff(logit, axis=1) * direction
    assert steps.min() >= -1e-12, f"{outcome}/{name} moves against its sourced direction"


def _model_frame(rows: pd.DataFrame) -> pd.DataFrame:
    from models.contract.features import to_model_frame

    return to_model_frame(rows)


def test_never_raise_is_the_benzodiazepine_dose() -> None:
    assert never_raise() == frozenset({"benzo_dose_mg"})


def test_plans_never_start_or_raise_a_benzodiazepine(trained) -> None:
    for dose in (0.0, 3.0, 8.0, 20.0):
        patient = trained.test_patients.iloc[0].drop(labels=["patient_id", "name"]).to_dict()
        patient["benzo_dose_mg"] = dose
        plans = candidate_plans(patient)
        assert plans["benzo_dose_mg"].max() == pytest.approx(dose)
        assert (plans["benzo_dose_mg"] <= dose + 1e-9).all()


def test_missing_benzodiazepine_dose_is_named(trained) -> None:
    patient = trained.test_patients.iloc[0].drop(labels=["patient_id", "name"]).to_dict()
    patient["benzo_dose_mg"] = None
    with pytest.raises(ValueError, match="Benzodiazepine dose is missing"):
        candidate_plans(patient)


def test_no_heldout_patient_gets_a_plan_that_raises_a_benzodiazepine(trained) -> None:
    """Every held-out test patient: no plan the search can return holds a higher dose."""
    patients = trained.test_patients.drop(columns=["patient_id", "name"])
    assert len(patients) >= 300
    for _, row in patients.iterrows():
        plans = candidate_plans(row.to_dict())
        assert plans["benzo_dose_mg"].max() <= row["benzo_dose_mg"] + 1e-9


def test_no_counterfactual_raises_a_benzodiazepine(trained) -> None:
    """End to end, 40 held-out patients (half of them on a benzodiazepine), two targets each:
    more response, and less dropout (no sourced benzodiazepine direction there, so noise
    could favour a dose)."""
    patients = trained.test_patients.drop(columns=["patient_id", "name"])
    rng = np.random.default_rng(3)
    on = patients[patients["benzo_dose_mg"] > 0]
    picked = pd.concat([on.iloc[rng.permutation(len(on))[:20]],
                        patients.iloc[rng.permutation(len(patients))[:20]]])
    base = trained.model_set.predict_proba(picked)
    options = 0
    for i, (_, row) in enumerate(picked.iterrows()):
        patient = row.to_dict()
        targets = [Target("response", "above", min(0.95, base["response"].iloc[i] + 0.1)),
                   Target("dropout", "below", max(0.01, base["dropout"].iloc[i] - 0.03))]
        for target in targets:
            result = find_counterfactuals(trained.model_set, patient, [target])
            options += len(result.options)
            for option in result.options:
                assert option.plan["benzo_dose_mg"] <= patient["benzo_dose_mg"] + 1e-9, (
                    f"{target.describe()}: {option.changes}")
    assert options > 0


def test_card_states_each_constraint_with_its_source(trained) -> None:
    section = trained.result.card["models"]["monotone_constraints"]
    listed = {(e["outcome"], e["feature"], e["direction"]) for e in section["constrained"]}
    assert listed == set(CONSTRAINED)
    assert all(e["source"] for e in section["constrained"])
    assert {e["feature"] for e in section["not_constrainable"]} >= {"hypertension"}
    for name in trained.model_set.outcome_models:
        assert trained.result.card["models"]["outcomes"][name]["monotone"] == \
            directions_for(name)
