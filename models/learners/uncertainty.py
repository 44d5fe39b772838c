"""A per-patient interval for each predicted probability (issue 14, part 4).

The interval is built on the calibrated log-odds scale around the shown prediction:

    logit(p) ± z * sqrt(s(x)^2 + D^2)

- ``s(x)``: the patient's bootstrap standard deviation: ``n_members`` boosters, each fitted
  on a bootstrap resample of the training + validation patients with the outcome model's
  own settings and number of trees, each with its own Platt map fitted on its out-of-bag
  patients (same slope prior). This is the sampling variability of the estimate.
- ``D^2``: the mean squared log-odds disagreement, over the same patients, between the
  outcome model and a penalised logistic regression fitted on them. Resampling cannot see
  a learner's approximation error (measured: bootstrap-only 90 % intervals covered the
  generator's true probability for 36-73 % of held-out patients); two different learners
  make largely different errors, so their disagreement estimates that error's size (if the
  errors were independent, E[D^2] would be the sum of both learners' squared errors, a
  conservative estimate of this model's).

Coverage of the generator's true probabilities on held-out patients is measured by
``tests/model/test_interval_coverage.py`` and reported in docs/monitoring.md. The interval
says how far the true probability of a patient with these inputs may be from the shown
number; it is not a range of outcomes.
"""

from __future__ import annotations

import logging
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy.stats import norm
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from models.learners.calibration import PLATT_PRIOR_SD, class_weights, fit_platt, logit, sigmoid
from models.learners.lgbm_params import booster_threads

log = logging.getLogger(__name__)

INTERVAL_LEVEL = 0.9
N_MEMBERS = 10
STACKED_MIN_ROWS = 64  # rows from which the members go through one stacked kernel call
LOGISTIC_C = 0.3  # inverse L2 strength of the reference logistic regression (standardised)
# Above this many patients each member is fitted on an m-out-of-n resample of this size
# (and calibrated on as many of its out-of-bag patients). The members' spread is then that
# of an m-patient fit, wider than an n-patient fit's: the interval errs on the wide side.
# (Scaling the spread by sqrt(m / n) lost 0.4-1.7 points of coverage at 20,000 patients,
# three outcomes below the nominal 90 %: boosted trees' error shrinks slower than
# 1/sqrt(n).) Sixty full-size boosters were most of a 100k-patient training (500 s of
# 1,187 s profiled); at that size the disagreement term D^2 dominates the width anyway.
MAX_MEMBER_ROWS = 10_000
# The m-out-of-n members (above MAX_MEMBER_ROWS) boost with this many times the outcome
# model's learning rate and as many times fewer trees: the same total step length, at a
# fraction of the cost. At 100,000 patients the 60 members were the largest step of a
# training (their trees were those of the outcome model fitted on 80,000 patients). The
# coverage study at 20,000 patients (docs/monitoring.md): factor 2 against 1, two training
# cohorts, the same outcome models: coverage equal or higher for every outcome (+0.0 to
# +0.8 points), intervals 1.5-3 % wider, the members' fit ~1.8x faster.
MEMBER_RATE_FACTOR = 2.0
_RATE_ALIASES = ("learning_rate", "shrinkage_rate", "eta")  # LightGBM's names, main first
MAX_REFERENCE_ROWS = 50_000  # rows the reference logistic regression is fitted on


def reference_design(X: pd.DataFrame, seed: int = 0) -> tuple[np.ndarray, Any, Any]:
    """(fit rows, their encoded inputs, every row's encoded inputs) for the reference
    logistic regression: categories one-hot, numbers standardised on the fit rows, which
    are at most ``MAX_REFERENCE_ROWS`` of ``X`` (drawn with ``seed``). The encoding does
    not depend on the outcome, so one design serves every outcome's interval model."""
    fit_rows = np.arange(len(X))
    if len(X) > MAX_REFERENCE_ROWS:
        fit_rows = np.sort(np.random.default_rng([seed, 2]).choice(
            len(X), MAX_REFERENCE_ROWS, replace=False))
    categorical = [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]
    numeric = [c for c in X.columns if c not in categorical]
    # A not-applicable input (the dose in the other route's unit) is NaN: standardised on
    # the given values, then set to their mean (0); the route's one-hot column carries it.
    scale = make_pipeline(StandardScaler(), SimpleImputer(strategy="constant", fill_value=0.0,
                                                          keep_empty_features=True))
    encode = ColumnTransformer([("cat", OneHotEncoder(handle_unknown="ignore"), categorical),
                                ("num", scale, numeric)])
    fit_design = encode.fit_transform(_plain(X.iloc[fit_rows]))
    return fit_rows, fit_design, encode.transform(_plain(X))


def _plain(X: pd.DataFrame) -> pd.DataFrame:
    """Numbers as floats and categories as text, for scikit-learn's encoders."""
    out = X.copy()
    for column in out.columns:
        if isinstance(out[column].dtype, pd.CategoricalDtype):
            out[column] = out[column].astype(str)
        else:
            out[column] = out[column].astype(float)
    return out


class ProbabilityInterval:
    """Bootstrap members plus an approximation-error term, for one outcome model."""

    def __init__(self, n_members: int = N_MEMBERS, level: float = INTERVAL_LEVEL,
                 seed: int = 0, max_member_rows: int = MAX_MEMBER_ROWS,
                 member_rate_factor: float = MEMBER_RATE_FACTOR) -> None:
        self.max_member_rows = max_member_rows
        self.member_rate_factor = member_rate_factor
        self.n_members = n_members
        self.level = level
        self.seed = seed

    def fit(self, X: pd.DataFrame, y: pd.Series | np.ndarray, params: dict[str, Any],
            n_trees: int, centre_logit: np.ndarray,
            design: tuple[np.ndarray, Any, Any] | None = None) -> ProbabilityInterval:
        """Fit the members on resamples of (X, y) and the error term against a reference.

        ``params``/``n_trees`` are the outcome model's booster settings and tree count;
        ``centre_logit`` its calibrated log-odds for the rows of ``X``; ``design`` the
        reference's encoded inputs, ``reference_design(X, seed)`` (the same for every
        outcome on the same patients: computed once by the caller, else here).
        """
        y = np.asarray(y, dtype=int)
        if self.n_members < 2:
            raise ValueError("n_members must be at least 2 (a spread needs two members)")
        rng = np.random.default_rng(self.seed)
        self.feature_names_ = list(X.columns)
        self.members_: list[lgb.Booster] = []
        size = min(len(y), int(getattr(self, "max_member_rows", MAX_MEMBER_ROWS)))
        if size < len(y):  # m-out-of-n members: fewer, longer steps (MEMBER_RATE_FACTOR)
            factor = float(getattr(self, "member_rate_factor", 1.0))
            rate = next((params[k] for k in _RATE_ALIASES if k in params), 0.1)
            params = {k: v for k, v in params.items() if k not in _RATE_ALIASES}
            params["learning_rate"] = float(rate) * factor
            n_trees = max(1, int(round(n_trees / factor)))
        platt = []
        for member in range(self.n_members):
            booster, a, b = self._member(X, y, params, n_trees, rng, member, size)
            self.members_.append(booster)
            platt.append((a, b))
        self.platt_ = np.asarray(platt, dtype=float)
        fit_rows, fit_design, design = reference_design(X, self.seed) if design is None \
            else design
        reference = LogisticRegression(C=LOGISTIC_C, max_iter=3000).fit(fit_design,
                                                                        y[fit_rows])
        ref_logit = logit(reference.predict_proba(design)[:, 1])
        self.disagreement_ = float(np.mean((np.asarray(centre_logit) - ref_logit) ** 2))
        log.info("interval: %d members, mean squared disagreement %.3f", self.n_members,
                 self.disagreement_)
        return self

    def _member(self, X: pd.DataFrame, y: np.ndarray, params: dict[str, Any], n_trees: int,
                rng: np.random.Generator, member: int,
                size: int) -> tuple[lgb.Booster, float, float]:
        for _ in range(20):  # a resample needs both classes in and out of the bag
            idx = rng.integers(0, len(y), size)
            out_of_bag = np.setdiff1d(np.arange(len(y)), idx)
            if size < len(y) and len(out_of_bag) > size:
                out_of_bag = np.sort(rng.choice(out_of_bag, size, replace=False))
            if len(np.unique(y[idx])) == 2 and len(np.unique(y[out_of_bag])) == 2:
                break
        else:
            raise ValueError("too few patients with and without the outcome to resample")
        weights, _ = class_weights(y[idx])
        data = lgb.Dataset(X.iloc[idx], label=y[idx], weight=weights,
                           categorical_feature="auto")
        booster = lgb.train({**params, "seed": self.seed * 1000 + member}, data,
                            num_boost_round=max(1, int(n_trees)))
        margin = booster.predict(X.iloc[out_of_bag], raw_score=True,
                                 num_threads=booster_threads(params))
        a, b = fit_platt(margin, y[out_of_bag], prior_sd=PLATT_PRIOR_SD)
        if a <= 0:
            a, b = 1.0, 0.0
        return booster, a, b

    def member_logits(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated log-odds of every member, shape (n_members, n_rows).

        The frame is converted once for all members; a batch walks every member in one
        call of the stacked kernel (``models.kernels.stacked_margin``), a few rows each member's
        row walk (``fastshap.CompiledMargin``): LightGBM's numbers, bit for bit, either way.
        """
        margins = self.compiled_members()
        matrix = margins[0].to_matrix(X[self.feature_names_])
        stack = self._stack(margins) if len(matrix) >= STACKED_MIN_ROWS else None
        if stack is not None:
            return self.platt_[:, :1] * stack.margins(matrix) + self.platt_[:, 1:]
        return np.vstack([a * margin.margin_matrix(matrix) + b
                          for margin, (a, b) in zip(margins, self.platt_, strict=True)])

    def _stack(self, margins: list[Any]) -> Any:
        """All members as one ``StackedMargin`` (None if a member is unsupported), kept
        beside the compiled members and rebuilt with them."""
        cached = self.__dict__.get("_stacked")
        if cached is None or cached[0] is not margins:
            from models.kernels.stacked_margin import StackedMargin

            stack = StackedMargin.build([m.forest for m in margins],
                                        parallel=margins[0].parallel)
            cached = (margins, stack)
            self.__dict__["_stacked"] = cached
        return cached[1]

    def compiled_members(self, parallel: bool | None = None) -> list[Any]:
        """One compiled margin per member, built once and kept out of the pickle;
        ``parallel`` rebuilds them with that threading (False inside Dask workers)."""
        margins = self.__dict__.get("_margins")
        if margins is None or (parallel is not None and margins[0].parallel != parallel):
            from models.kernels.fastshap import CompiledMargin

            margins = [CompiledMargin(booster, parallel=parallel is not False)
                       for booster in self.members_]
            self.__dict__["_margins"] = margins
        return margins

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_margins", None)
        state.pop("_stacked", None)
        return state

    def half_width(self, X: pd.DataFrame) -> np.ndarray:
        """Half-width on the log-odds scale for each row."""
        spread = self.member_logits(X).std(axis=0, ddof=1)
        z = float(norm.ppf(0.5 + self.level / 2))
        return z * np.sqrt(spread**2 + self.disagreement_)

    def interval(self, X: pd.DataFrame,
                 centre_logit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(lower, upper) probability for each row around the shown calibrated log-odds."""
        half = self.half_width(X)
        centre = np.asarray(centre_logit, dtype=float)
        return sigmoid(centre - half), sigmoid(centre + half)
