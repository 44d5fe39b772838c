"""Train a model set with the outcome boosters fitted on a Dask cluster.

Only the outcome boosters are distributed (``lightgbm.dask.DaskLGBMClassifier`` on the
training split); the split, trajectory model, OOD detector, evaluation and card come from
``training.train.train_model_set``, so the result is an ordinary ``ModelSet`` that the
registry, explanations and dashboard use unchanged.

lightgbm.dask has no early stopping, so each booster is grown to ``max_rounds`` and then cut
back on the client to the iteration with the lowest validation log-loss; the Platt map is
fitted on the validation margins of the kept trees (``OutcomeModel``'s hold-out route).
"""

from __future__ import annotations

import io
import logging
import warnings
from contextlib import redirect_stdout
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from models.contract.directions import with_monotone
from models.learners.calibration import PLATT_PRIOR_SD, class_weights, fit_platt
from models.learners.estimators import DEFAULT_PARAMS, OutcomeModel
from training.train import Progress, TrainResult, train_model_set

log = logging.getLogger(__name__)

DASK_MAX_ROUNDS = 400
# sklearn-API names for the keys of DEFAULT_PARAMS that DaskLGBMClassifier takes directly
# (lightgbm.dask sets the threads per worker itself, so num_threads is dropped)
_RENAMED = {"verbose": "verbosity"}


def _classifier_params(params: dict[str, Any] | None, seed: int,
                       max_rounds: int) -> dict[str, Any]:
    merged = {**DEFAULT_PARAMS, **(params or {})}
    for key in ("seed", "num_threads"):
        merged.pop(key, None)
    out = {_RENAMED.get(key, key): value for key, value in merged.items()}
    return {**out, "n_estimators": max_rounds, "random_state": seed}


def _valid_curve(booster: lgb.Booster, X: pd.DataFrame) -> np.ndarray:
    """Cumulative validation margins per iteration: shape (iterations, rows)."""
    per_tree = np.stack([booster.predict(X, raw_score=True, start_iteration=i, num_iteration=1)
                         for i in range(booster.current_iteration())])
    return np.cumsum(per_tree, axis=0)


def _best_iteration(margins: np.ndarray, y: np.ndarray, weight: np.ndarray) -> int:
    """1-based iteration with the lowest weighted log-loss (what early stopping would pick)."""
    loss = np.logaddexp(0.0, margins) - margins * y  # -log p(y | margin), per row
    mean = (loss * weight).sum(axis=1) / weight.sum()
    return int(np.argmin(mean)) + 1


def fit_outcome_dask(client: Any, X: pd.DataFrame, y: pd.Series, train: pd.Index,
                     valid: pd.Index, params: dict[str, Any] | None = None, seed: int = 0,
                     max_rounds: int | None = None,
                     n_partitions: int | None = None) -> OutcomeModel:
    """One outcome: boost on the cluster, cut back on the validation split, Platt-calibrate."""
    max_rounds = max_rounds or DASK_MAX_ROUNDS  # read at call time (tests lower it)
    import dask.dataframe as dd
    from lightgbm.dask import DaskLGBMClassifier

    y_train = np.asarray(y.loc[train], dtype=int)
    y_valid = np.asarray(y.loc[valid], dtype=int)
    if len(np.unique(y_train)) < 2 or len(np.unique(y_valid)) < 2:
        raise ValueError("both classes must occur in the training and validation splits")
    weight, positive_weight = class_weights(y_train)
    n_partitions = n_partitions or max(1, len(client.scheduler_info().get("workers", {})))
    X_train = X.loc[train]
    frame = X_train.assign(__label=y_train, __weight=weight)
    data = dd.from_pandas(frame, npartitions=n_partitions, sort=False)
    features = list(X_train.columns)
    model = DaskLGBMClassifier(client=client, **_classifier_params(params, seed, max_rounds))
    chatter = io.StringIO()  # lightgbm.dask prints port notices; keep stdout for results
    with redirect_stdout(chatter), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Parameter n_jobs will be ignored")
        model.fit(data[features], data["__label"], sample_weight=data["__weight"])
    log.debug("lightgbm.dask: %s", chatter.getvalue().strip())
    booster = model.booster_
    w_valid = np.where(y_valid == 1, positive_weight, 1.0)
    X_valid = X.loc[valid, features]
    margins = _valid_curve(booster, X_valid)
    best = _best_iteration(margins, y_valid, w_valid)

    fitted = OutcomeModel(params=params, seed=seed, max_rounds=max_rounds, cv_folds=0)
    fitted.feature_names_ = features
    fitted.n_features_in_ = len(features)
    fitted.params_ = {**DEFAULT_PARAMS, **(params or {}), "seed": seed}
    fitted.positive_weight_ = positive_weight
    fitted.booster_ = lgb.Booster(model_str=booster.model_to_string(num_iteration=best))
    fitted.best_iteration_ = best
    a, b = fit_platt(margins[best - 1], y_valid, prior_sd=PLATT_PRIOR_SD)
    if a <= 0:  # same guard as OutcomeModel.fit: never invert the risk ordering
        log.warning("Platt slope %.3f not positive; keeping the raw margin", a)
        a, b = 1.0, -float(np.log(positive_weight))
    fitted.a_, fitted.b_ = a, b
    log.info("dask outcome model: %d of %d trees, Platt a=%.3f b=%.3f", best,
             booster.current_iteration(), a, b)
    return fitted


def train_model_set_dask(patients: pd.DataFrame, sessions: pd.DataFrame, client: Any,
                         params: dict[str, Any] | None = None, seed: int = 0,
                         max_rounds: int | None = None, progress: Progress | None = None,
                         data_description: dict[str, Any] | None = None,
                         n_bootstrap: int = 200,
                         followup: pd.DataFrame | None = None) -> TrainResult:
    """``train_model_set`` with every outcome booster trained on ``client``'s cluster."""

    def fit(X: pd.DataFrame, y: pd.Series, train: pd.Index, valid: pd.Index) -> OutcomeModel:
        own = with_monotone(params, str(y.name), list(X.columns))  # sourced directions
        return fit_outcome_dask(client, X, y, train, valid, own, seed, max_rounds)

    description = {"engine": "dask", **(data_description or {})}
    result = train_model_set(patients, sessions, params, seed, progress=progress,
                             data_description=description, n_bootstrap=n_bootstrap,
                             followup=followup, fit_outcome=fit)
    result.model_set.train_summary["engine"] = "dask"
    return result
