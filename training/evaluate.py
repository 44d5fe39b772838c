"""How good is a model set on labelled patients: discrimination, calibration, usefulness.

Every headline number carries a bootstrap 95 % interval, because on a few hundred test
patients (and a rare side effect) the point estimate alone overstates what we know.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from models.contract.schema import outcome_names
from models.learners.calibration import logit
from models.store.modelset import ModelSet
from training.bootstrap_metrics import counted_rank_metrics, resample_counts

log = logging.getLogger(__name__)

N_BOOTSTRAP = 200
SUBGROUPS = ("sex", "age_band", "route", "primary_diagnosis")
THRESHOLDS = tuple(round(t, 2) for t in np.arange(0.05, 0.6001, 0.05))
N_CAL_BINS = 10


def age_band(age: pd.Series) -> pd.Series:
    """Age bands used for subgroup checks: <40, 40–64, ≥65."""
    return pd.cut(pd.to_numeric(age), [-np.inf, 40, 65, np.inf], right=False,
                  labels=["<40", "40-64", ">=65"]).astype(str)


def auc_batch(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """ROC AUC for each row of (B, n) label/score matrices (NaN where one class is absent)."""
    y = np.atleast_2d(y).astype(float)
    ranks = rankdata(np.atleast_2d(p), axis=1)
    n_pos = y.sum(axis=1)
    n_neg = y.shape[1] - n_pos
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = ((ranks * y).sum(axis=1) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    return np.where((n_pos > 0) & (n_neg > 0), auc, np.nan)


def average_precision_batch(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Average precision (PR AUC, as sklearn's ``average_precision_score``) per row.

    AP = (1/P) * sum over positives of the precision at the end of that positive's tie
    group when scores are sorted in descending order; ties are handled as sklearn does.
    """
    y, p = np.atleast_2d(y).astype(float), np.atleast_2d(p).astype(float)
    order = np.argsort(-p, axis=1, kind="stable")
    ys = np.take_along_axis(y, order, axis=1)
    ps = np.take_along_axis(p, order, axis=1)
    n = ys.shape[1]
    cum_tp = np.cumsum(ys, axis=1)
    group_end = np.ones_like(ps, dtype=bool)
    group_end[:, :-1] = ps[:, :-1] != ps[:, 1:]
    positions = np.broadcast_to(np.arange(n), ps.shape)
    end_index = np.where(group_end, positions, n - 1)
    end_index = np.minimum.accumulate(end_index[:, ::-1], axis=1)[:, ::-1]
    precision_at_end = np.take_along_axis(cum_tp, end_index, axis=1) / (end_index + 1)
    n_pos = ys.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ap = (ys * precision_at_end).sum(axis=1) / n_pos
    return np.where((n_pos > 0) & (n_pos < n), ap, np.nan)


def logistic_batch(x: np.ndarray, y: np.ndarray, fix_slope: bool = False,
                   iterations: int = 30,
                   weight: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Logistic fit y ~ b + a*x per row of (B, n) matrices by Newton's method.

    With ``fix_slope`` the slope is held at 1 (x is an offset) and only the intercept is
    fitted: the usual calibration-in-the-large intercept. ``weight`` (B, n) counts each
    observation that often (bootstrap resamples as counts; x and y may then be one row).
    """
    x, y = np.atleast_2d(x).astype(float), np.atleast_2d(y).astype(float)
    c = 1.0 if weight is None else np.atleast_2d(weight)
    rows = x.shape[0] if weight is None else c.shape[0]
    a = np.ones(rows)
    b = np.zeros(rows)
    ridge = 1e-6
    for _ in range(iterations):
        # The same operations in the same order as the plain expressions (bit for bit),
        # in place: the (B, n) temporaries were most of the time of the 200 bootstrap
        # resamples of 20,000 test patients (issue 31.2).
        eta = a[:, None] * x
        eta += b[:, None]
        np.clip(eta, -35, 35, out=eta)
        np.negative(eta, out=eta)
        np.exp(eta, out=eta)
        eta += 1.0
        p = np.divide(1.0, eta, out=eta)  # 1 / (1 + exp(-eta))
        w = c * p
        w *= 1 - p  # c * p * (1 - p)
        r = c * (y - p)
        if fix_slope:
            step_a, step_b = np.zeros_like(a), r.sum(axis=1) / (w.sum(axis=1) + ridge)
        else:
            g_a, g_b = (r * x).sum(axis=1), r.sum(axis=1)
            wx = w * x
            h_aa = (wx * x).sum(axis=1) + ridge
            h_ab = wx.sum(axis=1)
            h_bb = w.sum(axis=1) + ridge
            det = h_aa * h_bb - h_ab**2
            step_a = (h_bb * g_a - h_ab * g_b) / det
            step_b = (h_aa * g_b - h_ab * g_a) / det
        a, b = a + step_a, b + step_b
        if max(np.max(np.abs(step_a)), np.max(np.abs(step_b))) < 1e-9:
            break
    return a, b


def _metric_batch(y: np.ndarray, p: np.ndarray) -> dict[str, np.ndarray]:
    """All headline metrics for each row of (B, n) matrices."""
    z = logit(p)
    slope, _ = logistic_batch(z, y)
    _, intercept = logistic_batch(z, y, fix_slope=True)
    return {"auc": auc_batch(y, p), "pr_auc": average_precision_batch(y, p),
            "brier": ((p - y) ** 2).mean(axis=1), "calibration_intercept": intercept,
            "calibration_slope": slope}


def _resampled_metrics(y: np.ndarray, p: np.ndarray, idx: np.ndarray) -> dict[str, np.ndarray]:
    """``_metric_batch`` of the resamples ``y[idx]``, ``p[idx]``, computed from counts
    (``training.bootstrap_metrics``): one sort instead of one per resample."""
    counts = resample_counts(idx, len(y))
    z = logit(p)[None, :]
    slope, _ = logistic_batch(z, y[None, :], weight=counts)
    _, intercept = logistic_batch(z, y[None, :], fix_slope=True, weight=counts)
    return {**counted_rank_metrics(y, p, counts), "calibration_intercept": intercept,
            "calibration_slope": slope}


def _clean(value: float) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def metrics_with_ci(y: np.ndarray, p: np.ndarray, n_boot: int = N_BOOTSTRAP,
                    seed: int = 0) -> dict[str, dict[str, float | None]]:
    """Point estimate and percentile bootstrap 95 % CI for each headline metric."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    point = _metric_batch(y[None, :], p[None, :])
    idx = np.random.default_rng(seed).integers(0, len(y), size=(n_boot, len(y)))
    boot = _resampled_metrics(y, p, idx)
    out = {}
    for name, values in point.items():
        finite = boot[name][np.isfinite(boot[name])]
        lo, hi = np.percentile(finite, [2.5, 97.5]) if len(finite) else (np.nan, np.nan)
        out[name] = {"value": _clean(values[0]), "lo": _clean(lo), "hi": _clean(hi)}
    return out


def calibration_curve(y: np.ndarray, p: np.ndarray, n_bins: int = N_CAL_BINS) -> list[dict]:
    """Observed rate vs mean prediction in equal-width probability bins (empty bins dropped)."""
    bins = np.minimum((np.asarray(p) * n_bins).astype(int), n_bins - 1)
    rows = []
    for b in range(n_bins):
        mask = bins == b
        if mask.any():
            rows.append({"bin_lo": b / n_bins, "bin_hi": (b + 1) / n_bins, "n": int(mask.sum()),
                         "mean_predicted": float(np.mean(p[mask])),
                         "observed": float(np.mean(y[mask]))})
    return rows


def decision_curve(y: np.ndarray, p: np.ndarray,
                   thresholds: tuple[float, ...] = THRESHOLDS) -> list[dict]:
    """Net benefit of acting when p >= t, against acting for all and for none."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    n, prevalence = len(y), float(np.mean(y))
    rows = []
    for t in thresholds:
        odds = t / (1 - t)
        act = p >= t
        tp, fp = float(np.sum(act & (y == 1))), float(np.sum(act & (y == 0)))
        rows.append({"threshold": float(t), "model": tp / n - fp / n * odds,
                     "treat_all": prevalence - (1 - prevalence) * odds, "treat_none": 0.0})
    return rows


def subgroup_metrics(frame: pd.DataFrame, y: np.ndarray, p: np.ndarray) -> list[dict]:
    """n, prevalence, AUC and Brier per level of each subgroup variable."""
    keys = pd.DataFrame(index=frame.index)
    for name in SUBGROUPS:
        if name == "age_band" and "age" in frame:
            keys[name] = age_band(frame["age"]).to_numpy()
        elif name in frame:
            keys[name] = frame[name].astype(str).to_numpy()
    rows = []
    for name in keys.columns:
        for level in sorted(keys[name].unique()):
            mask = (keys[name] == level).to_numpy()
            yy, pp = y[mask], p[mask]
            auc = auc_batch(yy[None, :], pp[None, :])[0]
            rows.append({"variable": name, "level": level, "n": int(mask.sum()),
                         "prevalence": float(yy.mean()), "auc": _clean(auc),
                         "brier": float(np.mean((pp - yy) ** 2))})
    return rows


def evaluate_predictions(frame: pd.DataFrame, y: np.ndarray, p: np.ndarray,
                         n_boot: int = N_BOOTSTRAP, seed: int = 0) -> dict[str, Any]:
    """The full report for one outcome."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    return {"n": int(len(y)), "prevalence": float(y.mean()), "mean_predicted": float(p.mean()),
            **metrics_with_ci(y, p, n_boot=n_boot, seed=seed),
            "subgroups": subgroup_metrics(frame, y, p),
            "calibration_curve": calibration_curve(y, p),
            "decision_curve": decision_curve(y, p)}


def evaluate_model_set(model_set: ModelSet, patients: pd.DataFrame,
                       n_boot: int = N_BOOTSTRAP, seed: int = 0,
                       proba: pd.DataFrame | None = None) -> dict[str, Any]:
    """Evaluate every outcome on labelled patients (JSON-serialisable report);
    ``proba``: ``model_set.predict_proba(patients)`` when the caller has it already."""
    proba = model_set.predict_proba(patients) if proba is None else proba
    report: dict[str, Any] = {"n_patients": int(len(patients)), "n_bootstrap": n_boot,
                              "outcomes": {}}
    for name in model_set.outcomes:
        if name not in patients:
            log.warning("no labels for %s; skipped", name)
            continue
        labelled = patients[name].notna().to_numpy()
        y = patients.loc[labelled, name].astype(int).to_numpy()
        report["outcomes"][name] = evaluate_predictions(
            patients.loc[labelled], y, proba.loc[labelled, name].to_numpy(), n_boot, seed)
    return report


def metrics_table(report: dict[str, Any]) -> pd.DataFrame:
    """One row per outcome: n, prevalence and each metric with its CI."""
    rows = []
    known = [o for o in outcome_names() if o in report["outcomes"]]
    extra = [o for o in report["outcomes"] if o not in known]  # e.g. relapse
    for name in known + extra:
        entry = report["outcomes"][name]
        row: dict[str, Any] = {"outcome": name, "n": entry["n"],
                               "prevalence": entry["prevalence"]}
        for metric in ("auc", "pr_auc", "brier", "calibration_intercept", "calibration_slope"):
            row[metric] = entry[metric]["value"]
            row[f"{metric}_lo"] = entry[metric]["lo"]
            row[f"{metric}_hi"] = entry[metric]["hi"]
        rows.append(row)
    return pd.DataFrame(rows)
