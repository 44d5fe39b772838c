"""Cohort SHAP throughput: FastTreeShap vs shap.TreeExplainer on the same model and data.

``shap.TreeExplainer(booster).shap_values(X)`` for LightGBM calls LightGBM's C++ TreeSHAP
(``pred_contrib``), multi-threaded; FastTreeShap uses numba's threads. Both see the same
pandas frame, so input conversion is inside both timings.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import shap

from benchmarks.common import Context, interleaved, paired_ratio, register, timed
from models.contract.features import to_model_frame
from models.kernels.fastshap import FastTreeShap, reference_shap_values
from training.generator.generate import generate_cohort

log = logging.getLogger(__name__)

TRAIN_PATIENTS = 5000
DEFAULT_ROUNDS = 300


def explain_frame(ctx: Context) -> pd.DataFrame:
    """Fresh patients (a seed no model was trained on) in model-frame form."""
    n = 2000 if ctx.quick else 5000
    return ctx.cached(f"explain_frame_{n}", lambda: to_model_frame(
        generate_cohort(n, ctx.seed + 1).patients))


def default_model(ctx: Context, max_depth: int = -1) -> lgb.Booster:
    """LightGBM defaults (31 leaves, lr 0.1) with 300 rounds, on the response outcome."""

    def build() -> lgb.Booster:
        patients = generate_cohort(TRAIN_PATIENTS, ctx.seed).patients
        params = {"objective": "binary", "verbose": -1, "max_depth": max_depth}
        data = lgb.Dataset(to_model_frame(patients), patients["response"].astype(int))
        return lgb.train(params, data, num_boost_round=DEFAULT_ROUNDS)

    return ctx.cached(f"default_model_depth{max_depth}", build)


def project_model_set(ctx: Context) -> Any:
    """The project's own model set, trained like the shipped sample (2,000 patients)."""
    from base.settings import SAMPLE_PATIENTS, SAMPLE_SEED
    from training.train import train_model_set

    def build() -> Any:
        cohort = generate_cohort(SAMPLE_PATIENTS, SAMPLE_SEED)
        return train_model_set(cohort.patients, cohort.sessions, seed=0).model_set

    return ctx.cached("project_model_set", build)


def shap_tree_explainer_values(explainer: shap.TreeExplainer, X: pd.DataFrame) -> np.ndarray:
    """shap's values as one (n, n_features) array (older shap returned a list per class)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        values = explainer.shap_values(X)
    values = np.asarray(values)
    return values[-1] if values.ndim == 3 else values


def compare(name: str, booster: lgb.Booster, X: pd.DataFrame, repeats: int) -> dict[str, Any]:
    """Interleaved timing of shap vs ours on one model; values checked on the same run."""
    shap_build, explainer = timed(lambda: shap.TreeExplainer(booster))
    ours_build, fast = timed(lambda: FastTreeShap(booster))
    fast.shap_values(X.head(8))  # load the compiled kernels before timing
    ours = fast.shap_values(X)
    theirs = shap_tree_explainer_values(explainer, X)
    expected = float(np.ravel(explainer.expected_value)[-1])
    diff = max(float(np.max(np.abs(ours[:, :-1] - theirs))), abs(ours[0, -1] - expected))
    diff_contrib = float(np.max(np.abs(ours - reference_shap_values(booster, X))))
    times = interleaved({"shap": lambda: shap_tree_explainer_values(explainer, X),
                         "ours": lambda: fast.shap_values(X)}, repeats)
    shap_s, ours_s = float(np.median(times["shap"])), float(np.median(times["ours"]))
    stats = fast.forest.stats if fast.forest is not None else {}
    return {
        "model": name, "trees": booster.num_trees(), "leaves": stats.get("leaves", 0),
        "mean_path_features": round(stats.get("mean_unique_depth", 0.0), 2),
        "patients": len(X), "shap_per_s": len(X) / shap_s, "ours_per_s": len(X) / ours_s,
        "ratio": paired_ratio(times["shap"], times["ours"]), "max_abs_diff": diff,
        "max_abs_diff_pred_contrib": diff_contrib, "route": fast.route,
        "shap_build_s": shap_build, "ours_build_s": ours_build,
        "table_mb": stats.get("table_mb", 0.0), "repeats": repeats,
        "shap_times_s": times["shap"], "ours_times_s": times["ours"],
    }


TABLE_KEYS = ("model", "trees", "patients", "shap_per_s", "ours_per_s", "ratio",
              "max_abs_diff", "ours_build_s")


@register("cohort_shap")
def cohort_shap(ctx: Context) -> dict[str, Any]:
    """(a) Throughput, ratio and max |difference| for default and project models."""
    X = explain_frame(ctx)
    repeats = 3 if ctx.quick else 5
    rows = [compare("lgbm default, 300 trees", default_model(ctx), X, repeats),
            compare("lgbm 300 trees, max_depth 5", default_model(ctx, 5), X, repeats)]
    try:
        model_set = project_model_set(ctx)
    except ImportError as exc:  # training.train not available in this checkout
        log.warning("project models skipped: %s", exc)
        model_set = None
    if model_set is not None:
        frame = X[model_set.feature_names]
        project = [compare(f"project {name}", model.booster_,
                           frame[model.feature_names_], repeats)
                   for name, model in model_set.outcome_models.items()]
        rows += project
        shap_s = sum(len(frame) / r["shap_per_s"] for r in project)
        ours_s = sum(len(frame) / r["ours_per_s"] for r in project)
        rows.append({"model": f"project, all {len(project)} outcomes",
                     "trees": sum(r["trees"] for r in project), "patients": len(frame),
                     "shap_per_s": len(frame) / shap_s, "ours_per_s": len(frame) / ours_s,
                     "ratio": shap_s / ours_s,
                     "max_abs_diff": max(r["max_abs_diff"] for r in project),
                     "ours_build_s": sum(r["ours_build_s"] for r in project)})
    return {"rows": [{k: r.get(k, "") for k in TABLE_KEYS} for r in rows], "detail": rows}


@register("shap_routes")
def shap_routes(ctx: Context) -> dict[str, Any]:
    """Route and batch-size comparison for FastTreeShap on the default 300-tree model."""
    booster = default_model(ctx)
    X = explain_frame(ctx)
    matrix = FastTreeShap(booster).to_matrix(X)
    variants: dict[str, Any] = {}
    for route in ("table", "poly"):
        fast = FastTreeShap(booster, route=route)
        fast.shap_values_matrix(matrix[:8])
        variants[f"route={route}"] = (fast, len(matrix))
    for chunk in (64, 256, 1024, 4096):
        variants[f"table, chunk={chunk}"] = (FastTreeShap(booster, chunk_size=chunk),
                                             len(matrix))
    for batch in (1, 10, 100, 1000):
        variants[f"table, batch={batch}"] = (variants["route=table"][0], batch)
    repeats = 3 if ctx.quick else 5
    reference = reference_shap_values(booster, X)
    calls: dict[str, Any] = {}
    sizes: dict[str, int] = {}
    for label, (fast, batch) in variants.items():
        count = max(1, min(len(matrix) // batch, 200))
        sizes[label] = count * batch

        def run(fast: FastTreeShap = fast, batch: int = batch, count: int = count) -> None:
            for k in range(count):
                fast.shap_values_matrix(matrix[k * batch:(k + 1) * batch])

        calls[label] = run
    explainer = shap.TreeExplainer(booster)
    calls["shap.TreeExplainer"] = lambda: shap_tree_explainer_values(explainer, X)
    sizes["shap.TreeExplainer"] = len(X)
    times = interleaved(calls, repeats)  # every variant sees the same load pattern
    rows = []
    for label, seconds in times.items():
        fast = variants[label][0] if label in variants else None
        diff = (float(np.max(np.abs(fast.shap_values_matrix(matrix) - reference)))
                if fast is not None else 0.0)
        rows.append({"variant": label, "patients": sizes[label],
                     "per_s": sizes[label] / float(np.median(seconds)), "max_abs_diff": diff,
                     "table_mb": fast.table_bytes / 2**20 if fast is not None else 0.0})
    return {"rows": rows}
