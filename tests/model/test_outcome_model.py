"""OutcomeModel on a planted signal, and what must not change its predictions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.contract.features import to_model_frame
from models.contract.schema import FEATURES, defaults
from models.learners.calibration import logit, sigmoid
from models.learners.estimators import OutcomeModel
from training.evaluate import auc_batch, logistic_batch

# Inputs that vary in the planted training data: the signal (bmi, route) and some noise.
VARYING = ("bmi", "route", "age", "sex", "gad7_baseline", "heart_rate", "support_system")


def _random_patients(n: int, rng: np.random.Generator,
                     names: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Schema defaults with the named inputs (default: all) drawn at random in range."""
    frame = pd.DataFrame([defaults()] * n)
    for spec in FEATURES:
        if names is not None and spec.name not in names:
            continue
        if spec.dtype in ("int", "float"):
            values = rng.uniform(spec.min, spec.max, n)
            frame[spec.name] = np.round(values) if spec.dtype == "int" else values
        elif spec.dtype == "category":
            frame[spec.name] = rng.choice(np.array(spec.categories, dtype=object), n)
        else:
            frame[spec.name] = rng.random(n) < 0.3
    return frame


def _planted(n: int, seed: int, names: tuple[str, ...] | None = VARYING
             ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    patients = _random_patients(n, rng, names)
    true_logit = (BMI_EFFECT * (patients["bmi"] - 37.5)
                  + np.where(patients["route"] == "iv", IV_EFFECT, 0.0) - 0.5)
    y = (rng.random(n) < sigmoid(true_logit.to_numpy())).astype(int)
    return to_model_frame(patients), y, sigmoid(true_logit.to_numpy())


BMI_EFFECT = 0.1  # log-odds per kg/m²
IV_EFFECT = 1.2  # log-odds, IV against every other route


@pytest.fixture(scope="module")
def planted_model() -> tuple[OutcomeModel, pd.DataFrame, np.ndarray, np.ndarray]:
    X, y, _ = _planted(1500, seed=1)
    model = OutcomeModel(seed=3).fit(X.iloc[:1200], y[:1200], X.iloc[1200:], y[1200:])
    X_test, y_test, p_test = _planted(4000, seed=2)
    return model, X_test, y_test, p_test


def test_learns_a_planted_signal(planted_model) -> None:
    model, X_test, y_test, p_true = planted_model
    auc = auc_batch(y_test[None, :], model.predict_proba(X_test)[None, :])[0]
    oracle = auc_batch(y_test[None, :], p_true[None, :])[0]
    assert oracle > 0.8
    assert auc > oracle - 0.03
    assert model.feature_importance().idxmax() == "bmi"
    z = model.predict_logit(X_test)
    iv = (X_test["route"] == "iv").to_numpy()
    bmi = X_test["bmi"].to_numpy()
    bmi_slope = np.polyfit(bmi[~iv], z[~iv], 1)[0]
    assert bmi_slope == pytest.approx(BMI_EFFECT, rel=0.3)
    assert z[iv].mean() - z[~iv].mean() == pytest.approx(IV_EFFECT, rel=0.3)


def test_probabilities_are_calibrated_on_the_planted_signal(planted_model) -> None:
    model, X_test, y_test, p_true = planted_model
    p = model.predict_proba(X_test)
    assert p.shape == (len(X_test),) and ((p > 0) & (p < 1)).all()
    assert abs(p.mean() - p_true.mean()) < 0.02
    slope, _ = logistic_batch(logit(p)[None, :], y_test[None, :])
    assert 0.8 <= slope[0] <= 1.2
    np.testing.assert_allclose(sigmoid(model.predict_logit(X_test)), p)
    np.testing.assert_allclose(model.predict_logit(X_test),
                               model.a_ * model.predict_margin(X_test) + model.b_)


def test_inputs_constant_in_training_are_ignored(planted_model) -> None:
    model, X_test, _, _ = planted_model
    gain = model.feature_importance()
    unused = [name for name in gain.index if name not in VARYING]
    assert (gain[unused] == 0).all()
    rng = np.random.default_rng(0)
    varied = to_model_frame(_random_patients(len(X_test), rng))  # every input random
    changed = X_test.copy()
    changed[unused] = varied[unused]
    np.testing.assert_array_equal(model.predict_proba(changed), model.predict_proba(X_test))
    changed["bmi"] = changed["bmi"].to_numpy()[rng.permutation(len(changed))]
    assert not np.allclose(model.predict_proba(changed), model.predict_proba(X_test))


def test_column_order_does_not_matter(planted_model) -> None:
    model, X_test, _, _ = planted_model
    reordered = X_test[list(reversed(X_test.columns))]
    np.testing.assert_array_equal(model.predict_proba(reordered), model.predict_proba(X_test))


def test_inputs_outside_the_model_do_not_change_predictions(trained) -> None:
    patients = trained.test_patients.reset_index(drop=True)
    before = trained.model_set.predict_proba(patients)
    rng = np.random.default_rng(0)
    changed = patients.copy()
    for name in ("name", "pregnant", "maoi", "stimulant", "raised_icp",
                 "response", "dropout"):
        changed[name] = changed[name].to_numpy()[rng.permutation(len(changed))]
    changed["unrelated_note"] = rng.random(len(changed))
    pd.testing.assert_frame_equal(trained.model_set.predict_proba(changed), before)


def test_holdout_mode_stops_on_the_validation_split() -> None:
    X, y, _ = _planted(1500, seed=4)
    model = OutcomeModel(cv_folds=0, seed=0).fit(X.iloc[:1100], y[:1100], X.iloc[1100:],
                                                 y[1100:])
    assert 1 <= model.best_iteration_ <= model.booster_.current_iteration()
    X_test, y_test, _ = _planted(3000, seed=5)
    assert auc_batch(y_test[None, :], model.predict_proba(X_test)[None, :])[0] > 0.75
    with pytest.raises(ValueError, match="validation"):
        OutcomeModel(cv_folds=0).fit(X, y)


def test_a_single_class_is_refused() -> None:
    X, y, _ = _planted(300, seed=6)
    with pytest.raises(ValueError, match="both classes"):
        OutcomeModel().fit(X, np.zeros_like(y))
