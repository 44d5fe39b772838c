"""The model lab's "clinic's own patients" actions (issue 29): queue a training or an
update on the store's ended series as a background job (the worker runs ``kapcds.updating``,
the CLI's code path), and turn an update job's stored result into the tables the page shows.
No Streamlit here.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import Engine

from dashboard.services.lab import jobs
from models.contract.schema import outcome
from models.store.card_text import format_ci

METHODS = ("auto", "intercept", "logistic", "revision", "refit")
METHOD_LABELS = {
    "auto": "auto (closed test chooses the simplest step the data support)",
    "intercept": "intercept (recalibration in the large)",
    "logistic": "logistic (recalibration of intercept and slope)",
    "revision": "revision (recalibration + a few new trees)",
    "refit": "refit (a new model on the clinic's patients)",
}
METRICS = {"auc": "AUC", "calibration_intercept": "cal. intercept",
           "calibration_slope": "cal. slope", "brier": "Brier"}
CLINIC_SOURCE = "this clinic's patients (the store)"  # the lab's training-data option
STORE = {"source": "store"}  # the job's data: the store's ended series, read by the worker


def submit_update(engine: Engine, username: str, version: str, method: str,
                  outcomes: list[str] | None = None, n_boot: int = 200, seed: int = 0,
                  token: str | None = None) -> str:
    """Queue an update of ``version`` by ``method`` (never promoted); the job id."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; allowed: {', '.join(METHODS)}")
    named = f" ({', '.join(outcomes)})" if outcomes else ""
    return jobs.submit(engine, username, f"update {version} on the clinic's patients, "
                       f"method {method}{named}", STORE,
                       {"kind": "update", "version": version, "method": method,
                        "outcomes": list(outcomes or []), "n_bootstrap": int(n_boot),
                        "seed": int(seed)}, token=token)


def submit_train(engine: Engine, username: str, params: dict[str, Any] | None = None,
                 n_boot: int = 200, seed: int = 0, token: str | None = None) -> str:
    """Queue a full training on the clinic's patients (most recent 30 % as its test)."""
    return jobs.submit(engine, username, "train on the clinic's patients", STORE,
                       {"kind": "train_from_store", "params": params, "n_bootstrap":
                        int(n_boot), "seed": int(seed)}, token=token)


def _label(name: str) -> str:
    try:
        return outcome(name).label
    except KeyError:
        return name


def _p_values(entry: dict[str, Any]) -> str:
    """The closed test's comparisons with their p-values, in the order they were made."""
    details = entry.get("test_details") or []
    return "; ".join(f"{t['bigger']} vs {t['smaller']}: p = {t['p_value']:.3g}"
                     for t in details) or "no test (step requested or none supported)"


def steps_table(result: dict[str, Any]) -> pd.DataFrame:
    """Per outcome: the step chosen or kept, why, and the closed test's p-values."""
    rows = [{"outcome": _label(name), "step": entry["step"], "what it means":
             entry.get("step_text", ""), "why": entry.get("reason", ""),
             "closed test (p-values)": _p_values(entry)}
            for name, entry in (result.get("outcomes") or {}).items()]
    return pd.DataFrame(rows)


def refused_table(result: dict[str, Any]) -> pd.DataFrame:
    """Every step the sample size refused, with Riley et al.'s numbers."""
    rows = [{"outcome": _label(name), "step": step, "patients needed": check["n_required"],
             "events needed": check["events_required"], "Riley et al. (2020)": check["text"]}
            for name, entry in (result.get("outcomes") or {}).items()
            for step, check in (entry.get("sample_size") or {}).items()
            if not check["sufficient"]]
    return pd.DataFrame(rows)


def evaluation_table(result: dict[str, Any]) -> pd.DataFrame:
    """Current vs updated on the recent patients (never used to fit): AUC, calibration
    intercept and slope, Brier, each with its 95 % bootstrap CI."""
    rows = []
    for name, entry in (result.get("outcomes") or {}).items():
        for which, key in (("current", "current_on_recent"), ("updated", "updated_on_recent")):
            metrics = entry.get(key) or {}
            if metrics:
                rows.append({"outcome": _label(name), "version": which,
                             **{label: format_ci(metrics.get(m), 3)
                                for m, label in METRICS.items()}})
    return pd.DataFrame(rows)


def headline(result: dict[str, Any]) -> str:
    """One sentence: what was updated, on what, and whether a candidate was registered."""
    changed = [_label(n) for n, e in (result.get("outcomes") or {}).items()
               if e["step"] != "current"]
    version = result.get("version")
    what = (f"candidate {version} registered (not promoted): {', '.join(changed)} updated"
            if version else "every outcome kept as it is: nothing registered")
    return f"Update of {result.get('parent')} on {result.get('data')}: {what}."
