"""The four updating steps of one outcome model, in increasing freedom (Steyerberg,
*Clinical Prediction Models*, ch. 20; Janssen 2008; Vergouwe 2017).

Every step returns a plain ``OutcomeModel`` (one LightGBM booster + the affine map
``a_ * margin + b_``), so prediction, the registry's files and exact TreeSHAP work on an
updated model unchanged:

- ``intercept`` (recalibration in the large): logit' = logit + alpha. Only ``b_`` moves.
- ``logistic`` (logistic recalibration): logit' = alpha + beta * logit, i.e. ``a_`` scaled
  by beta and ``b_`` = alpha + beta * b. SHAP on the logit scale: every contribution times
  beta, the base value ``beta * (a * base) + alpha + beta * b``: still exactly additive.
- ``revision``: logistic recalibration, then ``REVISION_TREES`` small new trees boosted on
  the local patients from the recalibrated logit (the "stacked booster": the old trees,
  scaled so their raw output *is* the recalibrated logit, continued with LightGBM's
  ``init_model``), and intercept and slope re-estimated on the combined margin. One
  booster and an affine map, as before: TreeSHAP of the combined forest is exact. The old
  trees' effects stay; the new trees may add what the clinic's patients show (e.g. a
  stronger BMI effect), under the same monotone constraints. Few, large steps (learning
  rate 0.3): on a 2,500-patient shifted clinic, 5 trees at 0.1 moved the recent patients'
  calibration slope 1.18 -> 1.18, at 0.3 to 1.09 (Brier against the true probabilities
  0.021 -> 0.0085).
- ``refit``: a new ``OutcomeModel`` on the local patients alone.

Each step reports its log-likelihood on the fitting patients and its parameter count
(``df``) for the closed test (``training.updating.closed_test``). For ``revision`` ``df``
counts 2 + every leaf of the new trees (each leaf value is fitted); for ``refit`` ``df`` =
1 + the number of model inputs (Vergouwe's "all coefficients re-estimated"). Both of these
log-likelihoods are cross-fitted (each patient scored by a fit that did not see them),
because a tree's in-sample likelihood is more optimistic than any parameter count says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from models.learners.calibration import sigmoid
from models.learners.estimators import OutcomeModel
from training.evaluate import logistic_batch

STEPS = ("intercept", "logistic", "revision", "refit")
REVISION_TREES = 5
REVISION_PARAMS: dict[str, Any] = {  # small, slow trees: a correction, not a new model
    "learning_rate": 0.3, "num_leaves": 3, "min_data_in_leaf": 40, "lambda_l2": 10.0,
    "feature_fraction": 1.0, "bagging_fraction": 1.0, "bagging_freq": 0,
}
REFIT_FOLDS = 3


@dataclass
class StepFit:
    """One fitted step: the updated model, its log-likelihood on the fitting patients (a
    sum) and how many parameters it estimated besides the current model's."""

    step: str
    model: OutcomeModel
    loglik: float
    df: int


def loglik(y: np.ndarray, logit: np.ndarray) -> float:
    """Bernoulli log-likelihood (sum) of log-odds ``logit``."""
    y, z = np.asarray(y, dtype=float), np.asarray(logit, dtype=float)
    return float(np.sum(y * z - np.logaddexp(0.0, z)))


def with_map(model: OutcomeModel, a: float, b: float) -> OutcomeModel:
    """A copy of ``model`` sharing its booster, with the affine map ``a * margin + b``."""
    copy = OutcomeModel.__new__(OutcomeModel)
    copy.__dict__.update({k: v for k, v in model.__dict__.items() if k != "_fast_shap"})
    copy.a_, copy.b_ = float(a), float(b)
    return copy


def fit_intercept(model: OutcomeModel, X: pd.DataFrame, y: np.ndarray) -> StepFit:
    """Recalibration in the large: the current log-odds as an offset, a new intercept."""
    z = model.predict_logit(X)
    _, alpha = logistic_batch(z, y, fix_slope=True)
    updated = with_map(model, model.a_, model.b_ + float(alpha[0]))
    return StepFit("intercept", updated, loglik(y, z + alpha[0]), 1)


def fit_logistic(model: OutcomeModel, X: pd.DataFrame, y: np.ndarray) -> StepFit:
    """Logistic recalibration: intercept and slope on the current log-odds."""
    z = model.predict_logit(X)
    beta, alpha = (float(v[0]) for v in logistic_batch(z, y))
    if beta <= 0:
        raise ValueError(f"logistic recalibration slope {beta:.3f} is not positive: the "
                         "local patients reverse the model's ranking; not an update to apply")
    updated = with_map(model, beta * model.a_, alpha + beta * model.b_)
    return StepFit("logistic", updated, loglik(y, alpha + beta * z), 2)


_LINE = re.compile(r"^(leaf_value|internal_value)=(.*)$", re.MULTILINE)


def scaled_booster(booster: lgb.Booster, a: float, b: float) -> lgb.Booster:
    """A booster whose raw output is ``a * raw + b``: every leaf (and internal) value times
    ``a``, and ``b`` added to the first tree's. ``tree_sizes`` is dropped (the text lengths
    change; LightGBM then reads the trees one after another)."""
    text = booster.model_to_string()
    head, sep, rest = text.partition("\nTree=0\n")
    if not sep:
        raise ValueError("booster has no trees to scale")
    head = re.sub(r"^tree_sizes=.*\n", "", head, flags=re.MULTILINE)
    first_end = rest.find("\nTree=1\n")
    first_end = len(rest) if first_end < 0 else first_end
    first, others = rest[:first_end], rest[first_end:]

    def scale(text: str, shift: float) -> str:
        def one(match: re.Match) -> str:
            values = [float(v) * a + shift for v in match.group(2).split()]
            return f"{match.group(1)}=" + " ".join(repr(v) for v in values)
        return _LINE.sub(one, text)

    return lgb.Booster(model_str=head + sep + scale(first, b) + scale(others, 0.0))


def fit_revision(model: OutcomeModel, X: pd.DataFrame, y: np.ndarray,
                 seed: int = 0) -> StepFit:
    """Logistic recalibration, then ``REVISION_TREES`` new trees on the local patients;
    the log-likelihood is cross-fitted (``crossed_logit``)."""
    updated = _revise(model, X, y, seed)
    leaves = 2 + REVISION_TREES * int(REVISION_PARAMS["num_leaves"])
    crossed = crossed_logit(lambda Xi, yi: _revise(model, Xi, yi, seed), X, y, seed)
    return StepFit("revision", updated, loglik(y, crossed), leaves)


def crossed_logit(fit, X: pd.DataFrame, y: np.ndarray, seed: int) -> np.ndarray:
    """Each patient's log-odds from a fit on the other folds (``REFIT_FOLDS``): greedy
    tree splits make an in-sample likelihood optimistic beyond what df can count (an
    in-sample revision was "significant" on an unshifted clinic, p = 0.004)."""
    crossed = np.empty(len(y))
    folds = StratifiedKFold(REFIT_FOLDS, shuffle=True, random_state=seed).split(X, y)
    for inner, outer in folds:
        crossed[outer] = fit(X.iloc[inner], y[inner]).predict_logit(X.iloc[outer])
    return crossed


def _revise(model: OutcomeModel, X: pd.DataFrame, y: np.ndarray, seed: int) -> OutcomeModel:
    recal = fit_logistic(model, X, y).model
    start = scaled_booster(recal.booster_, recal.a_, recal.b_)
    params = {**model.params_, **REVISION_PARAMS, "seed": seed}
    params.pop("metric", None)
    data = lgb.Dataset(X[model.feature_names_], label=y, categorical_feature="auto",
                       free_raw_data=False)
    booster = lgb.train(params, data, num_boost_round=REVISION_TREES, init_model=start,
                        keep_training_booster=False)
    updated = with_map(recal, 1.0, 0.0)
    updated.booster_ = lgb.Booster(model_str=booster.model_to_string())
    updated.best_iteration_ = booster.current_iteration()
    # The new trees are shrunk (learning rate): re-estimate intercept and slope on the
    # combined margin (the same two parameters, counted once in df).
    beta, alpha = (float(v[0]) for v in logistic_batch(updated.predict_margin(X), y))
    if beta > 0:
        updated.a_, updated.b_ = beta, alpha
    return updated


def fit_refit(model: OutcomeModel, X: pd.DataFrame, y: np.ndarray, seed: int = 0) -> StepFit:
    """A new outcome model on the local patients (same settings, constraints and seed)."""
    params = {k: v for k, v in model.params_.items() if k != "seed"}
    def one(Xi: pd.DataFrame, yi: np.ndarray) -> OutcomeModel:
        return OutcomeModel(params=params, seed=seed).fit(Xi[model.feature_names_], yi)

    crossed = crossed_logit(one, X, y, seed)
    return StepFit("refit", one(X, y), loglik(y, crossed), 1 + len(model.feature_names_))


def fit_step(step: str, model: OutcomeModel, X: pd.DataFrame, y: np.ndarray,
             seed: int = 0) -> StepFit:
    """Fit one named step (``STEPS``)."""
    y = np.asarray(y, dtype=int)
    if step == "intercept":
        return fit_intercept(model, X, y)
    if step == "logistic":
        return fit_logistic(model, X, y)
    if step == "revision":
        return fit_revision(model, X, y, seed)
    if step == "refit":
        return fit_refit(model, X, y, seed)
    raise ValueError(f"unknown updating step {step!r}; allowed: {', '.join(STEPS)}")


def current_loglik(model: OutcomeModel, X: pd.DataFrame, y: np.ndarray) -> float:
    """The current model's log-likelihood on these patients (the closed test's start)."""
    return loglik(np.asarray(y, dtype=int), model.predict_logit(X))


def probabilities(model: OutcomeModel, X: pd.DataFrame) -> np.ndarray:
    """Calibrated probabilities (a small alias so callers need not import calibration)."""
    return sigmoid(model.predict_logit(X))
