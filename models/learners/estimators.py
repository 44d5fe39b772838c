"""The learners: one calibrated LightGBM classifier per outcome (and, re-exported from
``models.learners.trajectory``, the PHQ-9 quantile model).

Both follow scikit-learn conventions (settings in ``__init__``, ``fit`` returns ``self``,
learned state ends in ``_``) so they pickle cleanly into the registry.
"""

from __future__ import annotations

import logging
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from models.learners.calibration import PLATT_PRIOR_SD, class_weights, fit_platt, sigmoid
from models.learners.lgbm_params import (  # noqa: F401  (DEFAULT_PARAMS, MAX_ROUNDS re-exported)
    DEFAULT_PARAMS,
    MAX_ROUNDS,
    booster_threads,
)
from models.learners.trajectory import (  # noqa: F401  (re-exported: callers, stored model sets)
    PHQ9_RANGE,
    QUANTILES,
    TRAJECTORY_PARAMS,
    TrajectoryModel,
    session_frame,
)

log = logging.getLogger(__name__)

# From this many pooled patients on, one validation split replaces K-fold cross-validation
# (the folds only choose the tree count and supply calibration margins, and at this size a
# single 20 % split does both with a small error: the instability that made CV necessary
# was measured on ~2,000 patients). Training cost falls from K + 1 boosters to 2.
CV_MAX_PATIENTS = 20_000


class OutcomeModel:
    """LightGBM binary classifier followed by a monotone Platt map on its raw margin.

    Calibrating the margin with an affine map keeps TreeSHAP exact on the calibrated
    log-odds scale: calibrated logit = a_ * (base + sum(phi)) + b_.
    """

    def __init__(
        self,
        params: dict[str, Any] | None = None,
        early_stopping_rounds: int = 50,
        seed: int = 0,
        max_rounds: int = MAX_ROUNDS,
        cv_folds: int = 5,
        cv_max_patients: int = CV_MAX_PATIENTS,
    ) -> None:
        self.params = params
        self.early_stopping_rounds = early_stopping_rounds
        self.seed = seed
        self.max_rounds = max_rounds
        self.cv_folds = cv_folds
        self.cv_max_patients = cv_max_patients

    def fit(
        self,
        X_train: pd.DataFrame,
        y_train: pd.Series | np.ndarray,
        X_valid: pd.DataFrame | None = None,
        y_valid: pd.Series | np.ndarray | None = None,
    ) -> OutcomeModel:
        """Boost with early stopping, then fit the Platt map on held-out margins.

        With ``cv_folds >= 2`` (default) the training and validation patients are pooled
        and K-fold cross-validation picks the number of trees (mean out-of-fold loss) and
        supplies out-of-fold margins for the Platt map; the final booster is refitted on
        the whole pool with K/(K-1) times the trees (it sees that much more data). On
        ~2,000 patients a single 400-patient validation split gave calibration slopes
        anywhere from 0.5 to 4 on fresh data (early stopping after a handful of trees,
        noisy Platt fit); pooling and cross-fitting stabilise both.
        From ``cv_max_patients`` pooled patients on, the folds are replaced by the given
        validation split (stop early on it, calibrate on its margins) and the same refit on
        the pool with pool/train times the trees (``folds_used_`` = 1).
        With ``cv_folds < 2`` it stops early on, and calibrates on, the validation split.
        """
        params = {**DEFAULT_PARAMS, **(self.params or {}), "seed": self.seed}
        large = (X_valid is not None and y_valid is not None and self.cv_folds >= 2
                 and len(X_train) + len(X_valid)
                 >= getattr(self, "cv_max_patients", CV_MAX_PATIENTS))
        self.folds_used_ = 1 if large else self.cv_folds
        if large:
            return self._fit_split_refit(X_train, np.asarray(y_train, int), X_valid,
                                         np.asarray(y_valid, int), params)
        if X_valid is not None and y_valid is not None and self.cv_folds >= 2:
            X_train = pd.concat([X_train, X_valid])
            y_train = np.concatenate([np.asarray(y_train), np.asarray(y_valid)])
        y_tr = np.asarray(y_train, dtype=int)
        if len(np.unique(y_tr)) < 2:
            raise ValueError("both classes must occur in the training data")
        self.feature_names_ = list(X_train.columns)
        self.n_features_in_ = len(self.feature_names_)
        self.params_ = params
        w_tr, self.positive_weight_ = class_weights(y_tr)
        if self.cv_folds >= 2:
            booster, best, margin, y_cal = self._fit_cv(X_train, y_tr, w_tr, params)
        else:
            if X_valid is None or y_valid is None:
                raise ValueError("cv_folds < 2 needs a validation split")
            booster, best, margin, y_cal = self._fit_holdout(X_train, y_tr, w_tr, X_valid,
                                                             np.asarray(y_valid, int), params)
        return self._finish(booster, best, margin, y_cal)

    def _finish(self, booster, best, margin, y_cal) -> OutcomeModel:
        # Keep only the trees up to the best iteration so every consumer (predict,
        # pred_contrib, shap.TreeExplainer) sees the same model.
        self.booster_ = lgb.Booster(model_str=booster.model_to_string(num_iteration=best))
        self.best_iteration_ = int(best)  # number of trees kept
        a, b = fit_platt(margin, y_cal, prior_sd=PLATT_PRIOR_SD)
        if a <= 0:  # a flat or inverted map would break monotonicity; keep the raw scale
            log.warning("Platt slope %.3f not positive; keeping the raw margin", a)
            a, b = 1.0, -float(np.log(self.positive_weight_))
        self.a_, self.b_ = a, b
        log.info("outcome model: %d trees, Platt a=%.3f b=%.3f", best, a, b)
        return self

    def _fit_holdout(self, X_tr, y_tr, w_tr, X_va, y_va, params):
        if len(np.unique(y_va)) < 2:
            raise ValueError("both classes must occur in the validation split")
        w_va = np.where(y_va == 1, self.positive_weight_, 1.0)
        train_set = lgb.Dataset(X_tr, label=y_tr, weight=w_tr, categorical_feature="auto",
                                free_raw_data=False)
        valid_set = lgb.Dataset(X_va, label=y_va, weight=w_va, reference=train_set)
        booster = lgb.train(
            params, train_set, num_boost_round=self.max_rounds, valid_sets=[valid_set],
            callbacks=[lgb.early_stopping(self.early_stopping_rounds, verbose=False)],
        )
        best = booster.best_iteration or booster.current_iteration()
        margin = booster.predict(X_va[self.feature_names_], raw_score=True, num_iteration=best,
                                 num_threads=booster_threads(params))
        return booster, best, margin, y_va

    def _fit_split_refit(self, X_tr, y_tr, X_va, y_va, params) -> OutcomeModel:
        """Large pools: rounds and Platt margins from one split, then the pooled refit."""
        X_pool = pd.concat([X_tr, X_va])
        y_pool = np.concatenate([y_tr, y_va])
        if len(np.unique(y_pool)) < 2:
            raise ValueError("both classes must occur in the training data")
        self.feature_names_ = list(X_pool.columns)
        self.n_features_in_ = len(self.feature_names_)
        self.params_ = params
        w_pool, self.positive_weight_ = class_weights(y_pool)
        _, best, margin, y_cal = self._fit_holdout(X_tr, y_tr, w_pool[:len(y_tr)], X_va, y_va,
                                                   params)
        rounds = max(1, int(round(best * len(y_pool) / len(y_tr))))
        data = lgb.Dataset(X_pool, label=y_pool, weight=w_pool, categorical_feature="auto")
        final = lgb.train(params, data, num_boost_round=rounds)
        return self._finish(final, rounds, margin, y_cal)

    def _fit_cv(self, X, y, w, params):
        folds = list(StratifiedKFold(self.cv_folds, shuffle=True, random_state=self.seed)
                     .split(X, y))
        data = lgb.Dataset(X, label=y, weight=w, categorical_feature="auto",
                           free_raw_data=False)
        result = lgb.cv(
            params, data, num_boost_round=self.max_rounds, folds=folds,
            callbacks=[lgb.early_stopping(self.early_stopping_rounds, verbose=False)],
            return_cvbooster=True,
        )
        cv_booster = result["cvbooster"]
        best = int(cv_booster.best_iteration)
        margin = np.empty(len(y))
        for booster, (_, held_out) in zip(cv_booster.boosters, folds, strict=True):
            margin[held_out] = booster.predict(X.iloc[held_out], raw_score=True,
                                               num_iteration=best,
                                               num_threads=booster_threads(params))
        rounds = max(1, int(round(best * self.cv_folds / (self.cv_folds - 1))))
        final = lgb.train(params, data, num_boost_round=rounds)
        return final, rounds, margin, y

    def _frame(self, X: pd.DataFrame) -> pd.DataFrame:
        return X[self.feature_names_]

    def predict_margin(self, X: pd.DataFrame) -> np.ndarray:
        """Raw booster output (log-odds before calibration), LightGBM's bits exactly.

        Walked by the compiled kernel of ``fast_explainer`` on one converted matrix:
        LightGBM's ``predict`` re-converts the frame and starts its threads on every call.
        """
        explainer = self.fast_explainer()
        return explainer.margin_matrix(explainer.to_matrix(self._frame(X)))

    def logit_matrix(self, matrix: np.ndarray) -> np.ndarray:
        """Calibrated log-odds of an already converted matrix (``models.kernels.hotpath``)."""
        return self.a_ * self.fast_explainer().margin_matrix(matrix) + self.b_

    def predict_logit(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated log-odds."""
        return self.a_ * self.predict_margin(X) + self.b_

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated probability of the outcome (1-D)."""
        return sigmoid(self.predict_logit(X))

    def raw_contributions(self, X: pd.DataFrame,
                          reference: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Exact TreeSHAP on the raw margin: (per-feature matrix, expected value per row).

        Uses the compiled ``FastTreeShap`` (20-50x LightGBM's own TreeSHAP, equal to 1e-9);
        ``reference=True`` takes LightGBM's ``pred_contrib``, the path tests compare against.
        """
        frame = self._frame(X)
        if reference:
            contrib = np.asarray(self.booster_.predict(frame, pred_contrib=True), dtype=float)
        else:
            contrib = self.fast_explainer().shap_values(frame)
        return contrib[:, :-1], contrib[:, -1]

    def fast_explainer(self):
        """Built once per fitted model and kept out of the pickle (cheap to rebuild)."""
        explainer = self.__dict__.get("_fast_shap")
        if explainer is None:
            from models.kernels.fastshap import FastTreeShap

            explainer = FastTreeShap(self.booster_, parallel=True)
            self.__dict__["_fast_shap"] = explainer
        return explainer

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_fast_shap", None)
        return state

    def feature_importance(self) -> pd.Series:
        """Total gain per model feature (for the model card and cohort views)."""
        gain = self.booster_.feature_importance(importance_type="gain")
        return pd.Series(gain, index=self.feature_names_, dtype=float)
