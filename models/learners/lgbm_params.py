"""LightGBM settings shared by the outcome models and the PHQ-9 trajectory model."""

from __future__ import annotations

from typing import Any

# Conservative settings for small tabular cohorts (a few thousand patients): shallow trees
# (few leaves) and a slow learning rate with early stopping keep variance low; at least 30
# patients per leaf and per category group stop the trees from memorising rare patients;
# row/feature subsampling and an L2 penalty smooth the fit further. Single-threaded and
# deterministic, because the data are small and results must be reproducible.
DEFAULT_PARAMS: dict[str, Any] = {
    "objective": "binary",
    "metric": "binary_logloss",
    "learning_rate": 0.04,
    "num_leaves": 11,
    "min_data_in_leaf": 30,
    "min_data_per_group": 30,
    "cat_smooth": 10.0,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 5.0,
    "num_threads": 1,
    "deterministic": True,
    "force_row_wise": True,
    "verbose": -1,
}
MAX_ROUNDS = 1000

# The quantile boosters share the conservative settings; leaves hold at least 80 session
# rows because rows of one patient are correlated.
TRAJECTORY_PARAMS: dict[str, Any] = {
    **{k: v for k, v in DEFAULT_PARAMS.items() if k not in ("metric", "cat_smooth")},
    "objective": "quantile", "learning_rate": 0.05, "num_leaves": 15, "min_data_in_leaf": 80,
    "min_data_per_group": 50,
}
QUANTILES = (0.1, 0.5, 0.9)

# LightGBM's names for num_threads (its docs, "Core Parameters"), main name first.
_THREAD_ALIASES = ("num_threads", "num_thread", "nthread", "nthreads", "n_jobs")


def booster_threads(params: dict[str, Any]) -> int:
    """The ``num_threads`` a booster trained with ``params`` uses (0: OpenMP's default).

    Every LightGBM call that takes parameters (Dataset, Booster, predict) stores its
    thread count in one process-wide variable that sizes the per-thread buffers of every
    call running at that moment. Calls on different threads must therefore all pass the
    same count (``Booster.predict`` does not take the booster's own: it is passed
    explicitly), or one sizes its buffers for one thread and runs on two (a segfault,
    seen in ``train_model_set`` on a thread pool).
    """
    merged = {**DEFAULT_PARAMS, **params}
    value = next((merged[k] for k in _THREAD_ALIASES if k in params), merged["num_threads"])
    return int(value)
