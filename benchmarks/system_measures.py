"""Training time, single-patient latency and peak memory."""

from __future__ import annotations

import logging
import os
import time
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.common import (
    Context,
    peak_rss_mb,
    percentile,
    register,
    timed,
    traced_peak_mb,
)
from benchmarks.shap_measures import (
    default_model,
    explain_frame,
    project_model_set,
    shap_tree_explainer_values,
)
from models.kernels.fastshap import FastTreeShap
from training.generator.generate import generate_cohort

log = logging.getLogger(__name__)


@register("training")
def training(ctx: Context) -> dict[str, Any]:
    """(b) train_model_set wall time at 2k / 20k / 100k patients, split by step
    (``KAPCDS_BENCH_TRAIN_SIZES``, a comma list, picks other sizes)."""
    from training.train import train_model_set

    sizes = (2_000, 20_000) if ctx.quick else (2_000, 20_000, 100_000)
    if os.environ.get("KAPCDS_BENCH_TRAIN_SIZES"):  # e.g. "100000": only the clinic size
        sizes = tuple(int(n) for n in os.environ["KAPCDS_BENCH_TRAIN_SIZES"].split(","))
    rows = []
    for n in sizes:
        generate_s, cohort = timed(lambda n=n: generate_cohort(n, ctx.seed + 2))
        marks: list[tuple[float, str]] = []
        started = time.perf_counter()

        def progress(step: int, total: int, message: str,
                     marks: list[tuple[float, str]] = marks) -> None:
            marks.append((time.perf_counter(), message))

        train_s, result = timed(lambda c=cohort, p=progress: train_model_set(
            c.patients, c.sessions, seed=0, progress=p))
        outcome_s = 0.0
        previous = started
        for stamp, message in marks:
            if message.startswith("trained ") and "trajectory" not in message:
                outcome_s += stamp - previous
            previous = stamp
        trees = {name: int(m.best_iteration_)
                 for name, m in result.model_set.outcome_models.items()}
        rows.append({"patients": n, "generate_s": generate_s, "outcome_models_s": outcome_s,
                     "train_model_set_s": train_s, "trees": sum(trees.values()),
                     "steps": [(round(s - started, 2), m) for s, m in marks],
                     "trees_per_outcome": trees})
        log.info("trained %d patients in %.1f s", n, train_s)
        del cohort, result
    table = [{k: r[k] for k in ("patients", "generate_s", "outcome_models_s",
                                "train_model_set_s", "trees")} for r in rows]
    return {"rows": table, "detail": rows}


def _project_path(model_set: Any, row: pd.DataFrame) -> None:
    """The app's per-outcome calls: probabilities, then ``explain_frame`` per outcome."""
    from models.inference.explain import explain_frame as project_explain

    model_set.predict_proba(row)
    for name in model_set.outcomes:
        project_explain(model_set, row, name)


def _kernel_floor(model_set: Any, matrix: np.ndarray) -> None:
    """Only the compiled work: margin + SHAP of every outcome on a converted row."""
    for model in model_set.outcome_models.values():
        explainer = model.fast_explainer()
        explainer.margin_matrix(matrix)
        explainer.shap_values_matrix(matrix)


@register("single_patient")
def single_patient(ctx: Context) -> dict[str, Any]:
    """(c) One patient, all outcomes, predict + explain: p50/p95 latency (interleaved)."""
    from models.inference.explain import explain_all, explain_patient_all
    from models.kernels.hotpath import outcome_matrices

    model_set = project_model_set(ctx)
    n = 100 if ctx.quick else 300
    patients = generate_cohort(n, ctx.seed + 3).patients
    frames = [patients.iloc[[i]] for i in range(n)]
    records = [patients.iloc[i].to_dict() for i in range(n)]
    first = next(iter(model_set.outcomes))
    matrices = [outcome_matrices(model_set, r)[first] for r in records]
    paths = {
        "predict only (ModelSet.predict_proba, 1-row frame)":
            lambda i: model_set.predict_proba(frames[i]),
        "predict + explain: predict_proba + explain_frame x outcomes (1-row frame)":
            lambda i: _project_path(model_set, frames[i]),
        "predict + explain: explain_all (1-row frame, one conversion)":
            lambda i: explain_all(model_set, frames[i]),
        "predict + explain: explain_patient_all (dict row, hot path)":
            lambda i: explain_patient_all(model_set, records[i]),
        "kernels only (margin + SHAP, converted row)":
            lambda i: _kernel_floor(model_set, matrices[i]),
    }
    for i in range(5):  # warm caches and compiled code
        for path in paths.values():
            path(i)
    times: dict[str, list[float]] = {label: [] for label in paths}
    load_before = os.getloadavg()[0]
    for i in range(n):
        for label, path in paths.items():
            times[label].append(timed(lambda p=path, i=i: p(i))[0])
    load_after = os.getloadavg()[0]
    rows = [{"path": label, "outcomes": len(model_set.outcomes), "calls": len(values),
             "p50_ms": 1e3 * percentile(values, 50), "p95_ms": 1e3 * percentile(values, 95),
             "load_1min": f"{load_before:.1f}->{load_after:.1f}"}
            for label, values in times.items()]
    return {"rows": rows}


@register("memory")
def memory(ctx: Context) -> dict[str, Any]:
    """(d) Peak memory: traced numpy/Python peaks per cohort explanation, and process RSS."""
    import shap

    booster = default_model(ctx)
    X = explain_frame(ctx)
    fast = FastTreeShap(booster)
    fast.shap_values(X.head(8))
    explainer = shap.TreeExplainer(booster)
    ours_s, ours_mb = traced_peak_mb(lambda: fast.shap_values(X))
    shap_s, shap_mb = traced_peak_mb(lambda: shap_tree_explainer_values(explainer, X))
    build_s, build_mb = traced_peak_mb(lambda: FastTreeShap(booster))
    rows = [
        {"what": f"FastTreeShap.shap_values, {len(X)} patients", "traced_peak_mb": ours_mb,
         "seconds": ours_s},
        {"what": f"shap.TreeExplainer.shap_values, {len(X)} patients",
         "traced_peak_mb": shap_mb, "seconds": shap_s},
        {"what": "FastTreeShap build (parse + tables)", "traced_peak_mb": build_mb,
         "seconds": build_s},
        {"what": f"FastTreeShap weight tables ({fast.forest.stats.get('leaves', 0)} leaves)"
         if fast.forest is not None else "tables", "traced_peak_mb": fast.table_bytes / 2**20,
         "seconds": 0.0},
        {"what": "process peak RSS (whole run so far)", "traced_peak_mb": peak_rss_mb(),
         "seconds": 0.0},
    ]
    return {"rows": rows}
