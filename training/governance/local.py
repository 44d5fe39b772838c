"""Local validity and local fairness (HTI-1 attributes 27 and 29): how a version does on the
clinic's own patients, measured on ended series whose prediction was recorded when shown.

Nothing is extrapolated: below the monitoring rule's minimum (``MIN_PATIENTS`` ended series,
``MIN_EVENTS`` with and without the outcome) an outcome is "not yet measured" with its
counts, and its subgroups are not split further.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from training.evaluate import metrics_with_ci
from training.governance.fairness import group_keys, subgroup_results
from training.lifecycle.monitor import MIN_EVENTS, MIN_PATIENTS
from training.lifecycle.monitor_clinic import recorded_outcomes

NOT_YET = "not yet measured"


def _too_few(n: int, events: int) -> str:
    if n < MIN_PATIENTS or min(events, n - events) < MIN_EVENTS:
        return (f"{NOT_YET}: {n} ended series with a recorded prediction, {events} with the "
                f"outcome (at least {MIN_PATIENTS}, and {MIN_EVENTS} with and without, needed)")
    return ""


def local_results(version: str, outcomes: list[str], patients: pd.DataFrame,
                  sessions: pd.DataFrame, predictions: pd.DataFrame,
                  n_boot: int = 200) -> dict[str, Any]:
    """Per outcome: n, events and either metrics with 95 % CIs and subgroup results, or the
    reason they are not yet measured."""
    realised, labelled, proba = recorded_outcomes(version, patients, sessions, predictions)
    keys = group_keys(labelled) if len(labelled) else pd.DataFrame()
    result: dict[str, Any] = {
        "source": (f"the clinic's store: {len(realised):,} ended induction series, "
                   f"{len(labelled):,} of them with a prediction of {version} recorded when "
                   "it was shown"),
        "n_ended": int(len(realised)), "n_labelled": int(len(labelled)),
        "rule": (f"measured from {MIN_PATIENTS} ended series with {MIN_EVENTS} with and "
                 "without the outcome"), "outcomes": {}}
    for name in outcomes:
        if name not in labelled or name not in proba:
            result["outcomes"][name] = {"n": 0, "events": 0, "status": NOT_YET,
                                        "reason": f"{NOT_YET}: no recorded prediction of "
                                                  f"{name} with a realised outcome"}
            continue
        y = labelled[name].astype(int).to_numpy()
        p = proba[name].astype(float).to_numpy()
        entry: dict[str, Any] = {"n": int(len(y)), "events": int(y.sum())}
        reason = _too_few(entry["n"], entry["events"])
        if reason:
            entry.update(status=NOT_YET, reason=reason)
        else:
            entry.update(status="measured", metrics=metrics_with_ci(y, p, n_boot=n_boot),
                         subgroups=subgroup_results(keys, y, p, n_boot))
        result["outcomes"][name] = entry
    return result
