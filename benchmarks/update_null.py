"""Issue 29, item 3: is `update --method auto` too permissive on an unshifted clinic, or is
the current model itself miscalibrated there?

Usage: ``.venv/bin/python -m benchmarks.update_null [N_LARGE] [N_CLINICS]``.

1. The current version (the 2,000-patient sample cohort model, seed 0, as
   ``benchmarks/update_clinic.py``) on N_LARGE fresh unshifted patients (seed 4242, with the
   generator's true probabilities): calibration intercept/slope, AUC and Brier with 95 %
   bootstrap CIs, and the logistic recalibration fitted on one half, judged on the other
   against the truth (mean squared distance): does recalibrating with plenty of data help?
2. ``update_model_set(auto)`` on N_CLINICS unshifted clinics of 2,500 patients (seeds 777,
   778, ...): the step chosen per outcome and the gate p-value (most extensive step vs
   current), so the false-update rate per outcome and per version can be read off.
"""

from __future__ import annotations

import logging
import sys

import numpy as np

from base.settings import SAMPLE_PATIENTS, SAMPLE_SEED
from models.contract.features import to_model_frame
from training.evaluate import logistic_batch, metrics_with_ci
from training.generator.generate import generate_cohort
from training.train import train_model_set
from training.updating.clinic_data import clinic_dataset
from training.updating.steps import probabilities
from training.updating.update import update_model_set

METRICS = ("auc", "calibration_intercept", "calibration_slope", "brier")
log = logging.getLogger(__name__)


def _ci(entry: dict) -> str:
    return f"{entry['value']:.3f} [{entry['lo']:.3f}, {entry['hi']:.3f}]"


def large_sample(current, n_large: int) -> None:
    """Part 1: the current version's calibration on many fresh unshifted patients."""
    cohort = generate_cohort(n_large, 4242, with_truth=True, id_offset=200_000)
    data = clinic_dataset(cohort.patients, cohort.sessions,
                          cohort.patients["patient_id"].tolist(), test_fraction=0.5)
    truth = cohort.truth.set_index("patient_id")
    sys.stdout.write(f"## current version on fresh unshifted patients: {data.describe()}\n")
    for name, model in current.outcome_models.items():
        both = data.patients
        y = both[name].astype(int).to_numpy()
        p = probabilities(model, to_model_frame(both))
        m = metrics_with_ci(y, p, 200, 0)
        cells = "  ".join(f"{k} {_ci(m[k])}" for k in METRICS)
        Xf, yf = to_model_frame(data.fit), data.fit[name].astype(int).to_numpy()
        beta, alpha = (float(v[0]) for v in logistic_batch(model.predict_logit(Xf), yf))
        zt = model.predict_logit(to_model_frame(data.test))
        p_true = truth.loc[data.test["patient_id"], f"p_{name}"].to_numpy()
        now = float(np.mean((1 / (1 + np.exp(-zt)) - p_true) ** 2))
        recal = float(np.mean((1 / (1 + np.exp(-(alpha + beta * zt))) - p_true) ** 2))
        sys.stdout.write(f"{name}: n {len(y)} events {int(y.sum())}  {cells}\n"
                         f"  logistic recalibration on {len(yf)}: slope {beta:.3f} intercept "
                         f"{alpha:.3f}; vs truth on {len(zt)}: current {now:.4f} -> "
                         f"recalibrated {recal:.4f}\n")
        sys.stdout.flush()


def clinics(current, n_clinics: int, n: int = 2500) -> None:
    """Part 2: auto on unshifted clinics, step and gate p-value per outcome."""
    for k in range(n_clinics):
        cohort = generate_cohort(n, 777 + k, id_offset=50_000)
        data = clinic_dataset(cohort.patients, cohort.sessions,
                              cohort.patients["patient_id"].tolist())
        _, results = update_model_set(current, data.fit, data.test, "auto", n_boot=50)
        cells = []
        for name, r in results.items():
            gate = r.tests[0].p_value if r.tests else float("nan")
            cells.append(f"{name}={r.step}(gate p {gate:.2g})")
        sys.stdout.write(f"clinic seed {777 + k}: " + "  ".join(cells) + "\n")
        sys.stdout.flush()


def main(argv: list[str]) -> None:
    n_large = int(argv[0]) if argv else 20_000
    n_clinics = int(argv[1]) if len(argv) > 1 else 5
    sample = generate_cohort(SAMPLE_PATIENTS, SAMPLE_SEED)
    current = train_model_set(sample.patients, sample.sessions, seed=0,
                              n_bootstrap=20).model_set
    large_sample(current, n_large)
    clinics(current, n_clinics)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    main(sys.argv[1:])
