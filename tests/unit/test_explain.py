"""Explanation arithmetic and wording, without training a model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.inference.explain import (
    PatientExplanation,
    aggregate_to_clinical,
    clinical_feature_of,
    describe,
    probability_effects,
    sentences,
)
from models.learners.calibration import sigmoid


def test_one_hot_columns_map_back_to_their_clinical_feature() -> None:
    assert clinical_feature_of("bmi") == "bmi"
    assert clinical_feature_of("route=iv") == "route"
    assert clinical_feature_of("route__intranasal_esketamine") == "route"
    assert clinical_feature_of("session_number") == "session_number"


def test_aggregation_sums_one_hot_contributions_and_keeps_order() -> None:
    frame = pd.DataFrame({"bmi": [0.1, 0.2], "route=iv": [0.3, -0.1],
                          "route=im": [0.05, 0.0], "age": [-0.2, 0.4]})
    out = aggregate_to_clinical(frame)
    assert list(out.columns) == ["bmi", "route", "age"]
    np.testing.assert_allclose(out["route"], [0.35, -0.1])
    np.testing.assert_allclose(out.sum(axis=1), frame.sum(axis=1))


def test_probability_effects_add_up_and_keep_signs() -> None:
    rng = np.random.default_rng(1)
    contributions = pd.DataFrame(rng.normal(0, 0.6, (200, 8)))
    base = -0.4
    logits = base + contributions.sum(axis=1).to_numpy()
    effects = probability_effects(contributions, base, logits)
    np.testing.assert_allclose(effects.sum(axis=1), sigmoid(logits) - sigmoid(base),
                               atol=1e-12)
    signs_in, signs_out = np.sign(contributions.to_numpy()), np.sign(effects.to_numpy())
    assert (signs_in == signs_out).all()


def test_probability_effects_when_contributions_cancel() -> None:
    contributions = pd.DataFrame([[0.5, -0.5, 0.0]])
    effects = probability_effects(contributions, 0.0, np.array([0.0]))
    assert np.isfinite(effects.to_numpy()).all()
    assert effects.sum(axis=1).iloc[0] == pytest.approx(0.0)
    assert effects.iloc[0, 0] == pytest.approx(0.125)  # tangent slope 0.25 at p = 0.5


def _explanation(effects: dict[str, float], outcome: str = "response") -> PatientExplanation:
    series = pd.Series(effects)
    return PatientExplanation(outcome, 0.0, 0.5, 0.0, 0.5 + series.sum(), series * 4, series)


def test_sentences_use_clinical_labels_units_and_the_largest_effects() -> None:
    patient = pd.Series({"bmi": 34.0, "past_suicide_attempt": True, "route": "iv",
                         "age": 50, "anxious_depression": False})
    explanation = _explanation({"bmi": 0.04, "past_suicide_attempt": -0.021,
                                "route": 0.004, "age": 0.0, "anxious_depression": -0.3})
    lines = sentences(explanation, patient, "response", top=3)
    assert lines == [
        "No anxious depression lowered the chance of response by 30 percentage points",
        "Body-mass index 34 kg/m² raised the chance of response by 4 percentage points",
        "Past suicide attempt lowered the chance of response by 2 percentage points",
    ]


def test_sentences_say_risk_for_side_effects_and_skip_zero_effects() -> None:
    patient = pd.Series({"age": 71, "route": "iv", "bmi": 25.0})
    explanation = _explanation({"age": 0.012, "route": -0.004, "bmi": 0.0},
                               "hypertensive_reaction")
    lines = sentences(explanation, patient, "hypertensive_reaction")
    assert lines == [
        "Age 71 years raised the risk of hypertensive reaction by 1 percentage point",
        "Route: intravenous ketamine lowered the risk of hypertensive reaction by "
        "0.4 percentage points",
    ]


def test_describe_bool_category_and_number() -> None:
    assert describe("family_history_aud", False) == "No family history of alcohol use disorder"
    assert describe("dx_ptsd", False) == "No PTSD"
    assert describe("psychotherapy", "integrated") == (
        "Psychotherapy: integrated KAP psychotherapy")
    assert describe("benzo_dose_mg", 12.5) == "Benzodiazepine dose 12.5 mg/day diazepam-eq."
