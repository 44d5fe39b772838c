"""Train and evaluate the relapse model inside ``training.train.train_model_set``.

It uses the model set's own train/valid/test split of patients, so the relapse metrics in
the model card come from the same held-out patients as every other outcome.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from models.contract.schema import ID_COLUMN
from models.learners.relapse import RelapseModel, completed_responders
from training.evaluate import auc_batch, evaluate_predictions

log = logging.getLogger(__name__)

LABEL = "relapse_8w"


def relapse_dataset(patients: pd.DataFrame,
                    followup: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """Completed-series responders with a known 8-week relapse status (patients' index).

    Rows: patient features plus ``maintenance_schedule``, ``phq9_end_of_series`` and
    ``series_completed`` from followup.csv; label ``relapse_8w`` (0/1).
    """
    fu = followup.set_index(followup[ID_COLUMN].astype(str))
    fu = fu.reindex(patients[ID_COLUMN].astype(str))
    frame = patients.copy()
    for name in ("maintenance_schedule", "phq9_end_of_series", "series_completed"):
        frame[name] = fu[name].to_numpy()
    label = pd.Series(fu[LABEL].to_numpy(), index=patients.index)
    keep = completed_responders(frame) & label.notna()
    return frame.loc[keep], label.loc[keep].astype(bool).astype(int)


def _plan_subgroups(frame: pd.DataFrame, y: np.ndarray, p: np.ndarray) -> list[dict]:
    """Subgroup rows by maintenance plan, in training.evaluate's subgroup format."""
    rows = []
    plans = frame["maintenance_schedule"].astype(str).to_numpy()
    for level in sorted(set(plans)):
        mask = plans == level
        auc = auc_batch(y[mask][None, :], p[mask][None, :])[0]
        rows.append({"variable": "maintenance_schedule", "level": level,
                     "n": int(mask.sum()), "prevalence": float(y[mask].mean()),
                     "auc": None if not np.isfinite(auc) else float(auc),
                     "brier": float(np.mean((p[mask] - y[mask]) ** 2))})
    return rows


def train_relapse(patients: pd.DataFrame, followup: pd.DataFrame, train: pd.Index,
                  valid: pd.Index, test: pd.Index, params: dict[str, Any] | None = None,
                  seed: int = 0, n_boot: int = 200,
                  ) -> tuple[RelapseModel | None, dict[str, Any] | None, dict[str, Any]]:
    """Fit on the train+valid responders, evaluate on the test responders.

    Returns (model, report, summary); model and report are None when there are too few
    responders with a known status (a cohort without follow-up still trains).
    """
    frame, y = relapse_dataset(patients, followup)
    parts = {name: frame.index.intersection(idx) for name, idx in
             (("train", train), ("valid", valid), ("test", test))}
    summary: dict[str, Any] = {f"n_{k}": int(len(v)) for k, v in parts.items()}
    fit_rows = parts["train"].append(parts["valid"])
    if len(fit_rows) < 100 or y.loc[fit_rows].nunique() < 2 or len(parts["test"]) < 20:
        log.warning("relapse model skipped: %s", summary)
        return None, None, summary
    model = RelapseModel(params=params, seed=seed).fit(
        frame.loc[parts["train"]], y.loc[parts["train"]], frame.loc[parts["valid"]],
        y.loc[parts["valid"]])
    model.fit_interval(frame.loc[fit_rows], y.loc[fit_rows])
    test_frame = frame.loc[parts["test"]]
    y_test = y.loc[parts["test"]].to_numpy()
    p_test = model.predict_proba(test_frame)
    report = evaluate_predictions(test_frame, y_test, p_test, n_boot=n_boot, seed=seed)
    report["subgroups"] += _plan_subgroups(test_frame, y_test, p_test)
    summary.update(train_prevalence=float(y.loc[fit_rows].mean()),
                   trees=model.model_.best_iteration_, platt_a=model.model_.a_,
                   platt_b=model.model_.b_)
    log.info("relapse model: test AUC %.3f on %d responders", report["auc"]["value"],
             len(y_test))
    return model, report, summary
