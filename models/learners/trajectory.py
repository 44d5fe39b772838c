"""The PHQ-9 trajectory model: quantile boosters over session rows, conformally widened."""

from __future__ import annotations

import logging
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from models.contract.features import to_model_frame
from models.learners.lgbm_params import QUANTILES, TRAJECTORY_PARAMS, booster_threads

log = logging.getLogger(__name__)

# The quantile boosters see at most this many session rows (a random subset of patients);
# the conformal widening is still computed on all calibration patients, so the band's
# coverage guarantee does not depend on the subset.
TRAJECTORY_MAX_ROWS = 100_000
PHQ9_RANGE = (0.0, 27.0)


def session_frame(patients: pd.DataFrame, sessions: pd.DataFrame) -> pd.DataFrame:
    """Session rows joined to their patient's model inputs (features + session_number)."""
    features = to_model_frame(patients)
    features.index = patients["patient_id"].astype(str).to_numpy()
    keys = sessions["patient_id"].astype(str)
    known = keys.isin(features.index)
    joined = features.loc[keys[known]].reset_index(drop=True)
    joined["session_number"] = sessions.loc[known, "session_number"].astype(float).to_numpy()
    joined.index = sessions.index[known]
    return joined


class TrajectoryModel:
    """Quantile regression (10th/50th/90th centile) of PHQ-9 at each session.

    The band is the expected course a clinician compares observed scores against. Quantile
    boosters under-cover on new patients (about 67 % instead of 80 % measured), so the
    band is widened by split-conformal calibration (CQR) on held-out patients.
    """

    def __init__(self, params: dict[str, Any] | None = None, n_rounds: int = 200,
                 seed: int = 0, coverage: float = 0.8,
                 calibration_fraction: float = 0.25,
                 max_rows: int = TRAJECTORY_MAX_ROWS) -> None:
        self.params = params
        self.max_rows = max_rows
        self.n_rounds = n_rounds
        self.seed = seed
        self.coverage = coverage
        self.calibration_fraction = calibration_fraction

    def fit(self, patients: pd.DataFrame, sessions: pd.DataFrame) -> TrajectoryModel:
        """Fit the quantile boosters on most patients, conformal width on the rest."""
        X = session_frame(patients, sessions)
        y = sessions.loc[X.index, "phq9"].astype(float).to_numpy()
        # Fixed-width text, not an object array: np.unique/np.isin then sort instead of
        # comparing every session with every calibration patient (12 minutes at 100k).
        ids = sessions.loc[X.index, "patient_id"].astype(str).to_numpy(dtype=str)
        unique = np.unique(ids)
        rng = np.random.default_rng(self.seed)
        n_cal = int(round(len(unique) * self.calibration_fraction))
        calibration = np.isin(ids, rng.choice(unique, size=n_cal, replace=False))
        fitting = self._fitting_rows(ids, ~calibration)
        self.feature_names_ = list(X.columns)
        self.boosters_: dict[float, lgb.Booster] = {}
        # One binned Dataset for the three quantiles (binning does not depend on alpha).
        data = lgb.Dataset(X[fitting], label=y[fitting], categorical_feature="auto",
                           free_raw_data=False)
        for alpha in QUANTILES:
            params = {**TRAJECTORY_PARAMS, **(self.params or {}), "alpha": alpha,
                      "seed": self.seed}
            self.boosters_[alpha] = lgb.train(params, data, num_boost_round=self.n_rounds)
        self.widen_ = 0.0
        if calibration.any():
            threads = booster_threads({**TRAJECTORY_PARAMS, **(self.params or {})})
            band = self.predict_quantiles(X[calibration], num_threads=threads).to_numpy()
            scores = np.maximum(band[:, 0] - y[calibration], y[calibration] - band[:, 2])
            level = min(1.0, np.ceil((len(scores) + 1) * self.coverage) / len(scores))
            self.widen_ = float(np.quantile(scores, level, method="higher"))
        self.max_session_ = int(X["session_number"].max())
        log.info("trajectory model: %d session rows, up to session %d, band widened by %.2f",
                 len(X), self.max_session_, self.widen_)
        return self

    def _fitting_rows(self, ids: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        """The non-calibration rows, or whole patients of them up to ``max_rows`` rows."""
        limit = int(getattr(self, "max_rows", TRAJECTORY_MAX_ROWS))
        if candidates.sum() <= limit:
            return candidates
        patients = np.unique(ids[candidates])
        rng = np.random.default_rng([self.seed, 1])
        share = limit / candidates.sum()
        keep = rng.choice(patients, size=max(1, int(len(patients) * share)), replace=False)
        log.info("trajectory model: quantile boosters on %d of %d patients (at most %d rows)",
                 len(keep), len(patients), limit)
        return candidates & np.isin(ids, keep)

    def predict_quantiles(self, X: pd.DataFrame, num_threads: int = 0) -> pd.DataFrame:
        """q10/q50/q90 for session rows (model inputs + session_number), sorted and clipped.

        ``num_threads`` 0 is LightGBM's default; ``fit`` passes its boosters' own count
        (see ``models.learners.lgbm_params.booster_threads``)."""
        raw = np.sort(np.column_stack([self.boosters_[a].predict(X[self.feature_names_],
                                                                 num_threads=num_threads)
                                       for a in QUANTILES]), axis=1)
        widen = getattr(self, "widen_", 0.0)
        raw[:, 0] -= widen
        raw[:, 2] += widen
        raw = np.clip(np.sort(raw, axis=1), *PHQ9_RANGE)
        return pd.DataFrame(raw, index=X.index, columns=["q10", "q50", "q90"])

    def predict_band(self, patient_df: pd.DataFrame, n_sessions: int) -> pd.DataFrame:
        """Expected PHQ-9 band for one patient over sessions 1..n_sessions."""
        if len(patient_df) != 1:
            raise ValueError(f"predict_band takes one patient row, got {len(patient_df)}")
        base = to_model_frame(patient_df)
        numbers = np.arange(1, int(n_sessions) + 1)
        X = base.loc[base.index.repeat(len(numbers))].reset_index(drop=True)
        X["session_number"] = numbers.astype(float)
        band = self.predict_quantiles(X)
        band.insert(0, "session_number", numbers)
        return band
