"""Against the truth: each outcome model within 0.03 AUC of the generator's oracle on the same
patients, and calibration slope within 0.8-1.2.

The oracle is each patient's true outcome probability (Monte Carlo over everything the
models cannot see), so its AUC is the best any model of these inputs can reach. The models
are trained on 8,000 patients: on 2,000 (the shipped sample) the gap is 0.03-0.05 because
there is too little data, not because the model is mis-specified (see the closing notes).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.contract.schema import outcome_names
from models.learners.calibration import logit
from training.evaluate import auc_batch, logistic_batch
from training.generator.generate import generate_cohort, oracle_probabilities
from training.train import train_model_set

TRAIN_PATIENTS = 8_000
EVAL_PATIENTS = 4_000
MAX_GAP = 0.03


@pytest.fixture(scope="module")
def model_and_truth() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    cohort = generate_cohort(TRAIN_PATIENTS, seed=31)
    result = train_model_set(cohort.patients, cohort.sessions, seed=0, n_bootstrap=20)
    fresh = generate_cohort(EVAL_PATIENTS, seed=99, id_offset=900_000)
    truth = oracle_probabilities(fresh.patients, fresh.settings, np.random.default_rng(5),
                                 replicates=200)
    return fresh.patients, result.model_set.predict_proba(fresh.patients), truth


@pytest.mark.parametrize("outcome", outcome_names())
def test_model_auc_within_003_of_oracle(model_and_truth, outcome) -> None:
    patients, predicted, truth = model_and_truth
    y = patients[outcome].to_numpy()[None, :]
    model_auc = auc_batch(y, predicted[outcome].to_numpy()[None, :])[0]
    oracle_auc = auc_batch(y, truth[f"p_{outcome}"].to_numpy()[None, :])[0]
    assert model_auc >= oracle_auc - MAX_GAP, f"model {model_auc:.3f}, oracle {oracle_auc:.3f}"
    assert model_auc <= oracle_auc + 0.01  # the oracle is a ceiling; above it means leakage


@pytest.mark.parametrize("outcome", outcome_names())
def test_calibration_slope_between_08_and_12(model_and_truth, outcome) -> None:
    patients, predicted, _ = model_and_truth
    z = logit(predicted[outcome].to_numpy())
    slope, _ = logistic_batch(z[None, :], patients[outcome].to_numpy(float)[None, :])
    assert 0.8 <= slope[0] <= 1.2, f"slope {slope[0]:.2f}"
