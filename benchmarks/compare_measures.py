"""``--compare``: FastTreeShap beside shap, FastTreeSHAP v2 and WOODELF in the same run.

The contenders are benchmark-only installs, never project dependencies:

    pip install --target /tmp/shap-contenders --no-deps fasttreeshap-fixed \
        woodelf-explainer treelite
    KAPCDS_BENCH_EXTRA=/tmp/shap-contenders python -m benchmarks.run --compare

(``KAPCDS_BENCH_EXTRA`` is put on ``sys.path`` for this measure only.) A contender that
is not installed, or fails on the model (e.g. on native categorical splits), is reported as
a row with its error instead of a number. All of them explain the same booster on the
same frame, interleaved (A, B, C, D, A, ...) so the machine's load hits each alike.

Neither contender handles LightGBM's native categorical splits (fasttreeshap-fixed fails
inside its tree parser, woodelf says so), so the model is LightGBM's defaults with 300
rounds trained on the same patients with each category as its numeric code (ordered
splits), the one model every contender can read.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from collections.abc import Callable
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from benchmarks.common import Context, interleaved, paired_ratio, register
from benchmarks.shap_measures import (
    DEFAULT_ROUNDS,
    TRAIN_PATIENTS,
    explain_frame,
    shap_tree_explainer_values,
)
from models.contract.features import to_model_frame
from models.kernels.fastshap import FastTreeShap, model_matrix, reference_shap_values
from training.generator.generate import generate_cohort

log = logging.getLogger(__name__)


def _extra_path() -> None:
    extra = os.environ.get("KAPCDS_BENCH_EXTRA")
    if extra and extra not in sys.path:
        sys.path.append(extra)


def _fasttreeshap_v2(booster: Any, X: Any) -> Callable[[], np.ndarray]:
    import fasttreeshap_fixed

    explainer = fasttreeshap_fixed.TreeExplainer(booster, algorithm="v2", n_jobs=-1)

    def run() -> np.ndarray:
        values = np.asarray(explainer.shap_values(X, check_additivity=False))
        return values[-1] if values.ndim == 3 else values

    return run


def _woodelf(booster: Any, X: Any) -> Callable[[], np.ndarray]:
    from woodelf import WoodelfExplainer

    explainer = WoodelfExplainer(booster)

    def run() -> np.ndarray:
        values = explainer.shap_values(X, verbose=False)
        return np.asarray(values.to_numpy() if hasattr(values, "to_numpy") else values)

    return run


def _contenders(booster: Any, X: Any) -> tuple[dict[str, Callable[[], np.ndarray]],
                                                  dict[str, str]]:
    import shap

    fast = FastTreeShap(booster)
    fast.shap_values(X.head(8))  # load the compiled kernels before timing
    tree = shap.TreeExplainer(booster)
    calls: dict[str, Callable[[], np.ndarray]] = {
        "FastTreeShap (ours)": lambda: fast.shap_values(X)[:, :-1],
        "shap.TreeExplainer": lambda: shap_tree_explainer_values(tree, X)}
    errors: dict[str, str] = {}
    for label, build in (("fasttreeshap-fixed v2", _fasttreeshap_v2),
                         ("woodelf-explainer", _woodelf)):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                run = build(booster, X)
                run()  # fails here rather than inside the timing loop
            calls[label] = run
        except Exception as exc:  # not installed, or the model is not supported
            errors[label] = f"{type(exc).__name__}: {str(exc)[:160]}"
            log.warning("%s skipped: %s", label, errors[label])
    return calls, errors


def _numeric(X: pd.DataFrame) -> pd.DataFrame:
    """Category columns as their codes (NaN for missing), every column float."""
    return pd.DataFrame(model_matrix(X, X.shape[1]), columns=X.columns, index=X.index)


def numeric_model(ctx: Context) -> lgb.Booster:
    """LightGBM defaults, 300 rounds, response outcome, categories as numeric codes."""

    def build() -> lgb.Booster:
        patients = generate_cohort(TRAIN_PATIENTS, ctx.seed).patients
        data = lgb.Dataset(_numeric(to_model_frame(patients)),
                           patients["response"].astype(int))
        return lgb.train({"objective": "binary", "verbose": -1}, data,
                         num_boost_round=DEFAULT_ROUNDS)

    return ctx.cached("numeric_model", build)


@register("shap_compare")
def shap_compare(ctx: Context) -> dict[str, Any]:
    """Same model, same rows, every contender interleaved; speed ratio vs ours and max diff."""
    _extra_path()
    X = _numeric(explain_frame(ctx))
    booster = numeric_model(ctx)
    reference = reference_shap_values(booster, X)[:, :-1]
    calls, errors = _contenders(booster, X)
    repeats = 3 if ctx.quick else 5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        times = interleaved(calls, repeats)
    ours = times["FastTreeShap (ours)"]
    rows = []
    for label, seconds in times.items():
        values = calls[label]()
        rows.append({"explainer": label, "trees": booster.num_trees(), "patients": len(X),
                     "per_s": len(X) / float(np.median(seconds)),
                     "ours_faster_by": paired_ratio(seconds, ours),
                     "max_abs_diff_vs_pred_contrib":
                         float(np.max(np.abs(np.asarray(values, dtype=float) - reference))),
                     "error": ""})
    rows += [{"explainer": label, "trees": booster.num_trees(), "patients": len(X),
              "per_s": 0.0, "ours_faster_by": 0.0, "max_abs_diff_vs_pred_contrib": 0.0,
              "error": error} for label, error in errors.items()]
    return {"rows": rows}
