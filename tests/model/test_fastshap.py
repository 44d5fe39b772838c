"""FastTreeShap equals LightGBM's exact TreeSHAP (pred_contrib) and shap.TreeExplainer.

Models cover numeric + categorical features, missing values in both, several depths and
leaf counts, a single tree, depth-1 stumps and constant (no-split) trees. Nothing here
depends on timing; throughput lives in ``benchmarks/``.
"""

from __future__ import annotations

import logging
import warnings

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
import shap

from models.contract.features import to_model_frame
from models.kernels import fastshap_kernels
from models.kernels.fastshap import FastTreeShap, reference_shap_values
from training.generator.generate import generate_cohort

TOL = 1e-9


@pytest.fixture(scope="module")
def frame() -> tuple[pd.DataFrame, np.ndarray]:
    """Cohort model frame with ~10 % missing values in numeric and category columns."""
    patients = generate_cohort(1500, seed=11).patients
    X = to_model_frame(patients)
    rng = np.random.default_rng(3)
    for column in ("bmi", "age", "phq9_baseline", "benzo_dose_mg", "route", "support_system",
                   "hypertension"):
        X.loc[rng.random(len(X)) < 0.1, column] = np.nan
    return X, patients["response"].to_numpy(dtype=int)


def _train(X: pd.DataFrame, y: np.ndarray, rounds: int, **params: object) -> lgb.Booster:
    base = {"objective": "binary", "verbose": -1, "num_threads": 1, "seed": 0,
            "min_data_per_group": 10, "cat_smooth": 1.0}
    return lgb.train({**base, **params}, lgb.Dataset(X, y), num_boost_round=rounds)


def _assert_exact(booster: lgb.Booster, X: pd.DataFrame, **kwargs: object) -> np.ndarray:
    """Ours vs pred_contrib (all columns) and additivity against the raw margin."""
    ours = FastTreeShap(booster, **kwargs).shap_values(X)
    reference = reference_shap_values(booster, X)
    assert ours.shape == reference.shape == (len(X), booster.num_feature() + 1)
    np.testing.assert_allclose(ours, reference, rtol=0, atol=TOL)
    margin = booster.predict(X, raw_score=True)
    np.testing.assert_allclose(ours.sum(axis=1), margin, rtol=0, atol=TOL)
    return ours


@pytest.mark.parametrize("params, rounds", [
    ({}, 60),  # LightGBM defaults: 31 leaves, leaf-wise, unlimited depth
    ({"num_leaves": 7, "max_depth": 3}, 80),
    ({"num_leaves": 63, "min_data_in_leaf": 5}, 25),
    ({"num_leaves": 15, "max_depth": 5, "learning_rate": 0.3}, 40),
    ({"num_leaves": 2}, 50),  # depth-1 stumps
    ({}, 1),  # a single tree
])
def test_equals_pred_contrib(frame, params, rounds):
    X, y = frame
    _assert_exact(_train(X, y, rounds, **params), X)


@pytest.mark.parametrize("route, kwargs", [
    ("table", {}),
    ("table", {"table_max_depth": 3}),  # hybrid: deep leaves by quadrature
    ("table", {"table_budget_mb": 0.01}),  # budget exhausted early
    ("poly", {}),
    ("table", {"chunk_size": 7}),  # ragged chunks
    ("table", {"parallel": False}),
])
def test_every_route_is_exact(frame, route, kwargs):
    X, y = frame
    _assert_exact(_train(X, y, 40, num_leaves=31), X, route=route, **kwargs)


def test_small_batches_and_single_rows(frame):
    """Batches below the parallel threshold take the serial kernel; same values."""
    X, y = frame
    booster = _train(X, y, 30)
    explainer = FastTreeShap(booster)
    reference = reference_shap_values(booster, X.head(40))
    rows = np.vstack([explainer.shap_values(X.iloc[[i]]) for i in range(40)])
    np.testing.assert_allclose(rows, reference, rtol=0, atol=TOL)
    np.testing.assert_allclose(explainer.shap_values(X.head(40)), reference, rtol=0, atol=TOL)


def test_equals_shap_tree_explainer(frame):
    X, y = frame
    booster = _train(X, y, 50, num_leaves=15)
    ours = FastTreeShap(booster).shap_values(X)
    explainer = shap.TreeExplainer(booster)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = np.asarray(explainer.shap_values(X))
    if theirs.ndim == 3:  # older shap: one array per class for binary LightGBM
        theirs = theirs[-1]
    np.testing.assert_allclose(ours[:, :-1], theirs, rtol=0, atol=TOL)
    expected = np.ravel(explainer.expected_value)[-1]
    assert abs(ours[0, -1] - expected) <= TOL


def test_missing_value_variants(frame):
    """missing_type Zero (zero_as_missing) and None (use_missing=False: NaN reads as 0)."""
    X, y = frame
    X = X.copy()
    X.loc[X.index[::7], "benzo_dose_mg"] = 0.0
    _assert_exact(_train(X, y, 30, zero_as_missing=True), X)
    _assert_exact(_train(X, y, 30, use_missing=False), X)


def test_constant_trees_only_shift_the_expected_value(frame):
    X, y = frame
    booster = _train(X, y, 5, min_data_in_leaf=10_000)  # no split is possible
    values = _assert_exact(booster, X)
    assert np.all(values[:, :-1] == 0.0)


def test_unseen_and_wide_categories():
    """Category codes past one 32-bit word, and a category the model never saw."""
    rng = np.random.default_rng(5)
    n = 3000
    cats = [f"c{i}" for i in range(70)]
    X = pd.DataFrame({
        "wide": pd.Categorical(rng.choice(cats, n), categories=cats),
        "x": rng.normal(size=n),
    })
    y = ((X["wide"].cat.codes.to_numpy() % 3 == 0) ^ (X["x"].to_numpy() > 0.5)).astype(int)
    booster = _train(X, y, 40, min_data_per_group=5, max_cat_to_onehot=4, max_cat_threshold=64)
    new = X.head(200).copy()
    new["wide"] = new["wide"].cat.add_categories(["never_seen"])
    new.loc[new.index[:20], "wide"] = "never_seen"
    new.loc[new.index[20:40], "wide"] = np.nan
    _assert_exact(booster, X)
    _assert_exact(booster, new)


def test_regression_objective_and_array_input(frame):
    X, _ = frame
    target = X["phq9_baseline"].fillna(10).to_numpy() + X["bmi"].fillna(25).to_numpy() / 5
    booster = _train(X, target, 30, objective="regression")
    from_frame = _assert_exact(booster, X)
    explainer = FastTreeShap(booster)
    np.testing.assert_array_equal(explainer.shap_values(explainer.to_matrix(X)), from_frame)


def test_project_outcome_models(trained):
    """The project's own calibrated outcome models (native categoricals, early stopping)."""
    model_set = trained.model_set
    X = model_set.model_frame(trained.test_patients)
    for model in model_set.outcome_models.values():
        _assert_exact(model.booster_, X[model.feature_names_])


def test_falls_back_without_numba(frame, monkeypatch, caplog):
    X, y = frame
    booster = _train(X, y, 10)
    monkeypatch.setattr(fastshap_kernels, "NUMBA_AVAILABLE", False)
    with caplog.at_level(logging.WARNING, logger="models.kernels.fastshap"):
        explainer = FastTreeShap(booster)
    assert explainer.route == "reference"
    assert "numba" in caplog.text
    np.testing.assert_array_equal(explainer.shap_values(X), reference_shap_values(booster, X))


def test_unsupported_model_falls_back(frame, caplog):
    X, _ = frame
    labels = np.arange(len(X)) % 3
    booster = lgb.train({"objective": "multiclass", "num_class": 3, "verbose": -1},
                        lgb.Dataset(X, labels), num_boost_round=3)
    with caplog.at_level(logging.WARNING, logger="models.kernels.fastshap"):
        explainer = FastTreeShap(booster)
    assert explainer.route == "reference"
    np.testing.assert_array_equal(explainer.shap_values(X.head(5)),
                                  reference_shap_values(booster, X.head(5)))


def test_linear_trees_behave_like_lightgbm(caplog):
    """LightGBM has no TreeSHAP for linear trees; the fallback raises the same error."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3))
    booster = lgb.train({"objective": "regression", "linear_tree": True, "verbose": -1},
                        lgb.Dataset(X, X[:, 0] * 2 + X[:, 1]), num_boost_round=3)
    with caplog.at_level(logging.WARNING, logger="models.kernels.fastshap"):
        explainer = FastTreeShap(booster)
    assert explainer.route == "reference" and "linear" in caplog.text
    with pytest.raises(lgb.basic.LightGBMError, match="linear"):
        explainer.shap_values(X)


def test_rejects_wrong_width(frame):
    X, y = frame
    explainer = FastTreeShap(_train(X, y, 3))
    with pytest.raises(ValueError, match="feature columns"):
        explainer.shap_values(X.iloc[:, :-1])
    with pytest.raises(ValueError, match="route"):
        FastTreeShap(_train(X, y, 1), route="quantum")
