"""Figures for issue 29: `update_model_set` (auto) on a shifted and an unshifted synthetic
clinic, against a model set trained on the 2,000-patient sample cohort (seed 0).

Usage: ``.venv/bin/python -m benchmarks.update_clinic [N_CLINIC]``. Each clinic: N_CLINIC
generated patients (seed 777, ids after the sample's), arrival = generator order, 30 % most
recent to test. Prints per outcome: the chosen step, and current vs updated on the recent
patients (AUC, calibration intercept and slope, Brier; 95 % bootstrap CIs, 200 resamples),
plus the Brier score against the generator's true probabilities.
"""

from __future__ import annotations

import dataclasses
import logging
import sys

import numpy as np

from base.settings import SAMPLE_PATIENTS, SAMPLE_SEED
from training.generator.generate import generate_cohort
from training.generator.settings import EffectSettings
from training.train import train_model_set
from training.updating.clinic_data import clinic_dataset
from training.updating.update import update_model_set

SHIFT = {"improvement_intercept": 1.2, "bmi_per_unit": 0.2}
METRICS = ("auc", "calibration_intercept", "calibration_slope", "brier")


def _ci(entry: dict) -> str:
    return f"{entry['value']:.3f} [{entry['lo']:.3f}, {entry['hi']:.3f}]"


def main(argv: list[str]) -> None:
    n = int(argv[0]) if argv else 2500
    sample = generate_cohort(SAMPLE_PATIENTS, SAMPLE_SEED)
    current = train_model_set(sample.patients, sample.sessions, seed=0,
                              n_bootstrap=20).model_set
    for label, settings in (("shifted", dataclasses.replace(EffectSettings(), **SHIFT)),
                            ("unshifted", None)):
        cohort = generate_cohort(n, 777, settings=settings, with_truth=True, id_offset=50_000)
        data = clinic_dataset(cohort.patients, cohort.sessions,
                              cohort.patients["patient_id"].tolist())
        truth = cohort.truth.set_index("patient_id").loc[data.test["patient_id"]]
        updated, results = update_model_set(current, data.fit, data.test, "auto")
        print(f"## {label} clinic: {data.describe()}", flush=True)
        for name, r in results.items():
            p_true = truth[f"p_{name}"].to_numpy()
            brier = {k: float(np.mean((m.predict_proba(data.test)[name].to_numpy() - p_true)
                                      ** 2)) for k, m in (("current", current),
                                                          ("updated", updated or current))}
            print(f"{name}: {r.step} | {r.reason}")
            for kind, metrics in (("current", r.current_on_recent),
                                  ("updated", r.updated_on_recent)):
                if metrics:
                    cells = "  ".join(f"{m} {_ci(metrics[m])}" for m in METRICS)
                    print(f"  {kind}: {cells}  brier_vs_truth {brier[kind]:.4f}", flush=True)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    main(sys.argv[1:])
