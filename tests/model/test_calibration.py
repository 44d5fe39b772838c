"""Calibration on fresh patients, and discrimination against the generator's oracle."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.estimators import logit
from models.schema import outcome_names
from training.evaluate import auc_batch, logistic_batch
from training.generate import oracle_probabilities

# The calibration slope is only well determined when predictions actually vary: for an
# outcome the features barely predict (nausea/vomiting: oracle AUC ~0.57 on this cohort)
# the logit spread is ~0.1 and the slope estimate swings widely. Such models get the
# probability-scale checks and must not be overconfident (slope >= 0.8).
MIN_LOGIT_SD_FOR_SLOPE = 0.25


@pytest.fixture(scope="module")
def holdout_predictions(trained) -> pd.DataFrame:
    return trained.model_set.predict_proba(trained.holdout.patients)


@pytest.mark.parametrize("outcome", outcome_names())
def test_calibration_on_fresh_patients(trained, holdout_predictions, outcome) -> None:
    y = trained.holdout.patients[outcome].to_numpy(dtype=float)
    p = holdout_predictions[outcome].to_numpy()
    z = logit(p)
    slope, _ = logistic_batch(z[None, :], y[None, :])
    _, intercept = logistic_batch(z[None, :], y[None, :], fix_slope=True)
    assert slope[0] >= 0.8, f"overconfident: slope {slope[0]:.2f}"
    if z.std() >= MIN_LOGIT_SD_FOR_SLOPE:
        assert 0.8 <= slope[0] <= 1.2, f"slope {slope[0]:.2f}"
    assert abs(intercept[0]) < 0.15, f"calibration intercept {intercept[0]:.2f}"
    assert abs(p.mean() - y.mean()) < 0.02
    deciles = pd.qcut(p, 10, duplicates="drop")
    table = pd.DataFrame({"y": y, "p": p}).groupby(deciles, observed=True).mean()
    assert (table["y"] - table["p"]).abs().max() < 0.06


def test_the_informative_models_are_slope_tested(holdout_predictions) -> None:
    spread = holdout_predictions.apply(logit).std()
    tested = set(spread[spread >= MIN_LOGIT_SD_FOR_SLOPE].index)
    assert {"response", "remission", "hypertensive_reaction", "dropout"} <= tested


# The oracle sees every generator input; the models do not see `opioid` (a screening-only
# flag in the schema) although the generator makes it raise nausea, so that model's gap to
# the oracle is structural, not a fitting failure.
ORACLE_GAP = {"nausea_vomiting": 0.09}
DEFAULT_ORACLE_GAP = 0.06


def test_discrimination_close_to_the_oracle(trained, holdout_predictions) -> None:
    patients = trained.holdout.patients.iloc[:2000].reset_index(drop=True)
    truth = oracle_probabilities(patients, trained.holdout.settings,
                                 np.random.default_rng(5), replicates=100)
    predicted = holdout_predictions.iloc[:2000]
    for name in outcome_names():
        y = patients[name].to_numpy()[None, :]
        model_auc = auc_batch(y, predicted[name].to_numpy()[None, :])[0]
        oracle_auc = auc_batch(y, truth[f"p_{name}"].to_numpy()[None, :])[0]
        gap = ORACLE_GAP.get(name, DEFAULT_ORACLE_GAP)
        assert model_auc > oracle_auc - gap, f"{name}: {model_auc:.3f} vs {oracle_auc:.3f}"


@pytest.mark.parametrize("outcome", outcome_names())
def test_every_model_beats_chance_on_fresh_patients(trained, holdout_predictions,
                                                    outcome) -> None:
    y = trained.holdout.patients[outcome].to_numpy()[None, :]
    auc = auc_batch(y, holdout_predictions[outcome].to_numpy()[None, :])[0]
    assert auc > 0.53  # 20,000 patients: the standard error is about 0.005
