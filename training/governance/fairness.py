"""Subgroup results (fairness): discrimination and calibration by sex, age band and route.

Every number has a 95 % bootstrap interval, and a level with too few patients or events
carries a small-n warning rather than being left out, so a reader sees both the number and
how little it rests on. Computed once at training time on the held-out test patients (the
card's signed ``fairness`` section) and again on the clinic's own ended series (``local``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from models.clinical.risk_wording import wilson
from training.evaluate import age_band, metrics_with_ci

FAIRNESS_VARIABLES = ("sex", "age_band", "route")
# A level is "small" below these (the monitoring rule's thresholds, training.lifecycle.monitor).
SMALL_N, SMALL_EVENTS = 100, 10
N_BOOT = 200


def group_keys(frame: pd.DataFrame) -> pd.DataFrame:
    """The sex, age band and route of each row (columns absent from ``frame`` left out)."""
    keys = pd.DataFrame(index=frame.index)
    for name in FAIRNESS_VARIABLES:
        if name == "age_band" and "age" in frame:
            keys[name] = age_band(frame["age"]).to_numpy()
        elif name in frame:
            keys[name] = frame[name].astype(str).to_numpy()
    return keys


def small_n_warning(n: int, events: int) -> str:
    """Why a level's numbers are uncertain ("" when it has enough patients and events)."""
    if n < SMALL_N or min(events, n - events) < SMALL_EVENTS:
        return (f"small n: {n} patients, {events} with the outcome (fewer than {SMALL_N} "
                f"patients or {SMALL_EVENTS} with and without): read the interval, not the "
                "point")
    return ""


def _metric(entry: dict[str, Any]) -> dict[str, float | None]:
    return {k: entry.get(k) for k in ("value", "lo", "hi")}


def level_result(variable: str, level: str, y: np.ndarray, p: np.ndarray,
                 n_boot: int = N_BOOT) -> dict[str, Any]:
    """One subgroup level: n, events, AUC, calibration intercept and slope (95 % CIs),
    observed rate (Wilson CI) against the mean prediction, and the small-n warning."""
    y, p = np.asarray(y, float), np.asarray(p, float)
    n, events = int(len(y)), int(y.sum())
    row: dict[str, Any] = {"variable": variable, "level": str(level), "n": n,
                           "events": events, "warning": small_n_warning(n, events)}
    if n == 0:
        return row
    lo, hi = wilson(events, n)
    row["observed"] = {"value": events / n, "lo": lo, "hi": hi}
    row["mean_predicted"] = float(p.mean())
    if 0 < events < n:
        metrics = metrics_with_ci(y, p, n_boot=n_boot)
        row["auc"] = _metric(metrics["auc"])
        row["calibration_intercept"] = _metric(metrics["calibration_intercept"])
        row["calibration_slope"] = _metric(metrics["calibration_slope"])
    else:
        row["unmeasured"] = "only one class present: AUC and calibration cannot be computed"
    return row


def subgroup_results(keys: pd.DataFrame, y: np.ndarray, p: np.ndarray,
                     n_boot: int = N_BOOT) -> list[dict[str, Any]]:
    """``level_result`` for every level of every fairness variable in ``keys``."""
    y, p = np.asarray(y, float), np.asarray(p, float)
    rows = []
    for variable in keys.columns:
        values = keys[variable].astype(str).to_numpy()
        for level in sorted(set(values)):
            mask = values == level
            rows.append(level_result(variable, level, y[mask], p[mask], n_boot))
    return rows


def fairness_section(frame: pd.DataFrame, labels: dict[str, np.ndarray],
                     predictions: dict[str, np.ndarray], source: str,
                     n_boot: int = N_BOOT) -> dict[str, Any]:
    """The card's ``fairness`` section: subgroup results per outcome and what they rest on."""
    keys = group_keys(frame)
    return {"source": source, "variables": list(keys.columns), "n_bootstrap": n_boot,
            "small_n_rule": f"fewer than {SMALL_N} patients or {SMALL_EVENTS} with and "
                            "without the outcome",
            "outcomes": {name: subgroup_results(keys, labels[name], predictions[name], n_boot)
                         for name in labels}}
