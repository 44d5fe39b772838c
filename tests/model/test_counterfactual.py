"""Counterfactuals change only what the clinic controls, within limits, and reach the target."""

from __future__ import annotations

import time

import pandas as pd
import pytest

from models.contract.schema import ROUTE_DOSE_LIMITS, feature, modifiable_feature_names
from models.inference.counterfactual import Target, candidate_plans, find_counterfactuals
from models.inference.dependence import dependence


@pytest.fixture(scope="module")
def patient(trained) -> dict:
    """A test patient with a middling chance of response (room to improve)."""
    rows = trained.test_patients
    proba = trained.model_set.predict_proba(rows)["response"]
    pick = (proba - 0.4).abs().idxmin()
    return rows.loc[pick].drop(labels=["patient_id", "name"]).to_dict()


def test_candidate_plans_respect_limits(patient: dict) -> None:
    plans = candidate_plans(patient)
    assert set(plans.columns) == set(modifiable_feature_names())
    for route, (lo, hi) in ROUTE_DOSE_LIMITS.items():
        doses = plans.loc[plans["route"] == route, "dose_mg_per_kg"]
        assert len(doses) and doses.between(lo, hi).all()
        assert plans.loc[plans["route"] == route, "esketamine_dose_mg"].isna().all()
    esketamine = plans[plans["route"] == "intranasal_esketamine"]  # mg steps, never per kg
    assert set(esketamine["esketamine_dose_mg"]) == {28.0, 56.0, 84.0}
    assert esketamine["dose_mg_per_kg"].isna().all()
    for name in ("sessions_per_week", "planned_sessions", "benzo_dose_mg"):
        spec = feature(name)
        assert plans[name].between(spec.min, spec.max).all()


def test_options_reach_target_and_change_only_modifiable(trained, patient: dict) -> None:
    base = trained.model_set.predict_proba(pd.DataFrame([patient]))["response"].iloc[0]
    target = Target("response", "above", float(base) + 0.05)
    started = time.perf_counter()
    result = find_counterfactuals(trained.model_set, patient, [target])
    assert time.perf_counter() - started < 2.0
    assert result.options, result.message
    allowed = set(modifiable_feature_names())
    keys = [(o.n_changed, o.distance) for o in result.options]
    assert keys == sorted(keys)
    for option in result.options:
        assert set(option.changes) <= allowed and option.changes
        assert option.predictions["response"] > target.threshold
        fixed = {k: v for k, v in option.plan.items() if k not in allowed}
        assert fixed == {k: v for k, v in patient.items() if k not in allowed}
        if option.plan["route"] == "intranasal_esketamine":
            assert option.plan["esketamine_dose_mg"] in (28, 56, 84)
            assert option.plan["dose_mg_per_kg"] is None
        else:
            lo, hi = ROUTE_DOSE_LIMITS[option.plan["route"]]
            assert lo <= option.plan["dose_mg_per_kg"] <= hi
            assert option.plan["esketamine_dose_mg"] is None
        check = trained.model_set.predict_proba(pd.DataFrame([option.plan]))["response"]
        assert check.iloc[0] == pytest.approx(option.predictions["response"])


def test_unreachable_target_says_so(trained, patient: dict) -> None:
    result = find_counterfactuals(trained.model_set, patient, [Target("response", "above", 0.999)])
    assert not result.reachable and not result.options
    assert result.message.startswith("Not reachable within the clinical limits")


def test_side_effect_target_below(trained, patient: dict) -> None:
    base = trained.model_set.predict_proba(pd.DataFrame([patient]))
    risk = float(base["nausea_vomiting"].iloc[0])
    result = find_counterfactuals(trained.model_set, patient,
                                  [Target("nausea_vomiting", "below", risk * 0.8)])
    for option in result.options:
        assert option.predictions["nausea_vomiting"] < risk * 0.8


def test_dependence_dose_uses_route_limits(trained, patient: dict) -> None:
    dep = dependence(trained.model_set, patient, trained.cohort.patients, "dose_mg_per_kg",
                     "response", sample_size=50)
    lo, hi = ROUTE_DOSE_LIMITS[patient["route"]]
    assert dep.curve["value"].min() == pytest.approx(lo)
    assert dep.curve["value"].max() == pytest.approx(hi)
    assert dep.curve[["patient", "cohort_mean"]].notna().all().all()
    assert 0 < dep.n_cohort <= 50


def test_dependence_of_an_esketamine_patient_is_over_its_mg_steps(trained) -> None:
    """HAZ-240: an esketamine patient's dose is varied over 28/56/84 mg; asking for the
    mg/kg dose of that patient is refused, not answered with a value per kg."""
    rows = trained.test_patients
    esk = rows[rows["route"] == "intranasal_esketamine"].iloc[0]
    patient = esk.drop(labels=["patient_id", "name"]).to_dict()
    dep = dependence(trained.model_set, patient, trained.cohort.patients, "esketamine_dose_mg",
                     "nausea_vomiting", sample_size=30)
    assert dep.curve["value"].tolist() == [28.0, 56.0, 84.0]
    assert dep.curve[["patient", "cohort_mean"]].notna().all().all()
    with pytest.raises(ValueError, match="esketamine_dose_mg"):
        dependence(trained.model_set, patient, trained.cohort.patients, "dose_mg_per_kg",
                   "response")
