"""Durability numbers computed from a store (issue 13): KM medians by maintenance plan and
the current relapse model's metrics on the store's completed-series responders.

    KAPCDS_HOME=<home> python -m benchmarks.followup_store

Reads only the store (``dashboard.services.patients.followup.load_followup``) and the registry's
current model; with a freshly seeded home that is the shipped synthetic sample, which the
first-run model never saw (it is trained on a separately generated cohort).
"""

from __future__ import annotations

import json
import logging
import sys

from base import settings
from dashboard.services.patients.followup import durability_table, load_followup, survival_curves
from models.store.registry import Registry
from records.db import make_engine, session_factory
from records.frames import patients_frame
from training.evaluate import evaluate_predictions
from training.train_relapse import relapse_dataset


def measure() -> dict:
    """KM medians per plan and the relapse model's held-out-style metrics on the store."""
    engine = make_engine(settings.default_database_url())
    data = load_followup(engine)
    if data is None:
        raise SystemExit("the store has no follow-up records")
    with session_factory(engine)() as session:
        patients = patients_frame(session)
    curves = survival_curves(data.followup)
    out: dict = {"km": {plan: {"n": c.attrs["n"], "median_days": c.attrs["median"]}
                        for plan, c in curves.items()},
                 "table": durability_table(data.followup).to_dict("records")}
    model_set, card = Registry(settings.default_registry_dir()).load()
    followup = data.followup.reset_index(drop=True)
    frame, y = relapse_dataset(patients, followup)
    p = model_set.relapse.predict_proba(frame)
    report = evaluate_predictions(frame, y.to_numpy(), p, n_boot=500)
    out["relapse_model"] = {"version": card.get("version"), "n": report["n"],
                            "prevalence": report["prevalence"],
                            **{k: report[k] for k in ("auc", "brier", "calibration_intercept",
                                                      "calibration_slope") if k in report}}
    engine.dispose()
    return out


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    json.dump(measure(), sys.stdout, indent=1, default=str)
    sys.stdout.write("\n")
