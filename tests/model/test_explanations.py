"""SHAP explanations are exact, agree with the shap package, and recover planted effects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shap

from models.contract.doses import dose_contributions
from models.contract.schema import DOSE_FEATURES, MODEL_DOSE, model_feature_names, outcome_names
from models.inference.explain import (
    Explanation,
    explain_frame,
    explain_patient,
    global_importance,
    sentences,
)
from models.inference.predict import SHAP_SEPARATOR, predict_frame
from models.learners.calibration import sigmoid
from training.generator.settings import PLANTED_CATEGORY_ORDER, PLANTED_DIRECTIONS

BENZO_THRESHOLD_MG = 8.0  # clinical-reference §2: only the dose above 8 mg/day weakens


@pytest.fixture(scope="module")
def sample(trained) -> pd.DataFrame:
    return trained.holdout.patients.iloc[:1500]


@pytest.fixture(scope="module")
def explanations(trained, sample) -> dict[str, Explanation]:
    # TreeSHAP costs ~1 s per outcome for 1,500 patients: compute each once.
    return {name: explain_frame(trained.model_set, sample, name) for name in outcome_names()}


@pytest.mark.parametrize("outcome", outcome_names())
def test_base_plus_contributions_equals_calibrated_logit(trained, sample, explanations,
                                                        outcome) -> None:
    explanation = explanations[outcome]
    model = trained.model_set.outcome_models[outcome]
    logit = model.predict_logit(trained.model_set.model_frame(sample))
    total = explanation.base + explanation.contributions.sum(axis=1).to_numpy()
    np.testing.assert_allclose(total, logit, atol=1e-6)
    np.testing.assert_allclose(explanation.proba, trained.model_set.predict_proba(sample)[outcome])
    np.testing.assert_allclose(
        explanation.base_proba + explanation.effects.sum(axis=1), explanation.proba, atol=1e-9)
    assert list(explanation.contributions.columns) == model_feature_names()


@pytest.mark.parametrize("outcome", outcome_names())
def test_raw_contributions_match_shap_tree_explainer(trained, sample, explanations,
                                                     outcome) -> None:
    model = trained.model_set.outcome_models[outcome]
    X = trained.model_set.model_frame(sample.iloc[:500])
    ours, expected = model.raw_contributions(X)
    explainer = shap.TreeExplainer(model.booster_)
    theirs = np.asarray(explainer.shap_values(X))
    np.testing.assert_allclose(ours, theirs, atol=1e-9)  # the fast path is exact
    reference, _ = model.raw_contributions(X, reference=True)
    np.testing.assert_allclose(ours, reference, atol=1e-9)
    assert expected[0] == pytest.approx(float(np.ravel(explainer.expected_value)[0]), abs=1e-6)
    explanation = explanations[outcome].contributions.iloc[:500]
    # the shown explanation gives the model's one dose column to the dose recorded in the
    # route's unit (models.contract.doses.dose_contributions, HAZ-240); raw SHAP as above
    shown, names = dose_contributions(theirs, list(model.feature_names_),
                                      X["route"].astype(object).to_numpy())
    assert MODEL_DOSE not in names and set(DOSE_FEATURES) <= set(names)
    assert list(explanation.columns) == names
    np.testing.assert_allclose(explanation.to_numpy(), shown * model.a_, atol=1e-6)


def test_patient_explanation_matches_the_batch(trained, sample) -> None:
    row = sample.iloc[7]
    single = explain_patient(trained.model_set, row, "response")
    batch = explain_frame(trained.model_set, sample.iloc[:10], "response").row(7)
    assert single.proba == pytest.approx(batch.proba)
    np.testing.assert_allclose(single.contributions, batch.contributions, atol=1e-12)
    lines = sentences(single, row, "response", top=4)
    assert 1 <= len(lines) <= 4
    assert all("the chance of response by" in line for line in lines)


def test_predict_frame_shap_columns_add_up(trained, sample) -> None:
    rows = sample.iloc[:200]
    out = predict_frame(trained.model_set, rows, explain=True)
    assert len(out) == len(rows)
    assert out["patient_id"].tolist() == rows["patient_id"].tolist()
    for name in outcome_names():
        shap_cols = [c for c in out.columns if c.startswith(f"{name}{SHAP_SEPARATOR}")]
        assert len(shap_cols) == len(model_feature_names())
        logit = out[f"{name}_base"] + out[shap_cols].sum(axis=1)
        np.testing.assert_allclose(sigmoid(logit), out[f"{name}_probability"], atol=1e-9)
    for column in ("eligibility_status", "exclusions", "cautions", "ood_overall",
                   "ood_features"):
        assert column in out


def _planted_cases() -> list[tuple[str, str, int]]:
    return [(o, f, s) for o, effects in PLANTED_DIRECTIONS.items() for f, s in effects.items()]


@pytest.mark.parametrize(("outcome", "feature", "sign"), _planted_cases())
def test_planted_directions_are_recovered(sample, explanations, outcome, feature,
                                         sign) -> None:
    contributions = explanations[outcome].contributions[feature]
    values = sample[feature].astype(float)
    if feature == "benzo_dose_mg":
        above = values > BENZO_THRESHOLD_MG
        effect = contributions[above].mean() - contributions[~above].mean()
    else:
        effect = values.corr(contributions, method="spearman")
    assert np.sign(effect) == sign, f"{feature} on {outcome}: {effect:+.3f}"


@pytest.mark.parametrize(("outcome", "feature"), [
    (o, f) for o, orders in PLANTED_CATEGORY_ORDER.items() for f in orders])
def test_planted_category_order_is_recovered(sample, explanations, outcome, feature) -> None:
    order = PLANTED_CATEGORY_ORDER[outcome][feature]
    contributions = explanations[outcome].contributions[feature]
    means = contributions.groupby(sample[feature].to_numpy()).mean()
    assert list(np.diff(means.loc[list(order)].to_numpy()) > 0) == [True] * (len(order) - 1)


def test_global_importance_ranks_planted_predictors_first(trained, sample) -> None:
    importance = global_importance(trained.model_set, sample.iloc[:300], "response")
    assert importance.index[0] in {"bmi", "psychotherapy", "support_system", "ace_score"}
    assert set(importance.index) == set(model_feature_names())
