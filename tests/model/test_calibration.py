"""Calibration on fresh patients, and discrimination against the generator's oracle."""

from __future__ import annotations

import pandas as pd
import pytest

from models.contract.schema import outcome_names
from models.learners.calibration import logit
from training.evaluate import auc_batch, logistic_batch

# Models trained on the 2,000-patient sample: calibrated on the probability scale and never
# overconfident. With so few patients the weak-signal models (dissociation, nausea) shrink
# towards the base rate (slope > 1.2); the strict 0.8-1.2 slope band is tested on models
# trained on 8,000 patients in test_against_truth.py.


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
    assert abs(intercept[0]) < 0.15, f"calibration intercept {intercept[0]:.2f}"
    assert abs(p.mean() - y.mean()) < 0.02
    deciles = pd.qcut(p, 10, duplicates="drop")
    table = pd.DataFrame({"y": y, "p": p}).groupby(deciles, observed=True).mean()
    # 0.07: the 2,000-patient dissociation model is underconfident in its lowest decile
    # (predicts ~0.09 where ~0.03 happen); the 8,000-patient models meet the slope band.
    assert (table["y"] - table["p"]).abs().max() < 0.07


@pytest.mark.parametrize("outcome", outcome_names())
def test_every_model_beats_chance_on_fresh_patients(trained, holdout_predictions,
                                                    outcome) -> None:
    y = trained.holdout.patients[outcome].to_numpy()[None, :]
    auc = auc_batch(y, holdout_predictions[outcome].to_numpy()[None, :])[0]
    assert auc > 0.53  # 20,000 patients: the standard error is about 0.005
