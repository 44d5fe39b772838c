"""Held-out AUC per outcome with and without the sourced monotone constraints (issue 23).

Usage: ``.venv/bin/python -m benchmarks.monotone_auc [N_TRAIN] [SEED ...]``. Each seed
generates a training cohort of N_TRAIN patients (cohort seed = SAMPLE_SEED + seed) and
trains twice with model seed ``seed``: constraints off (``with_monotone`` bypassed) and on.
Both are scored on one fresh 20,000-patient cohort no model saw. Prints one JSON line per
seed and the mean change per outcome.
"""

from __future__ import annotations

import json
import logging
import sys
from unittest import mock

import numpy as np
from sklearn.metrics import roc_auc_score

from base.settings import SAMPLE_SEED
from training.generator.generate import generate_cohort
from training.train import train_model_set

HOLDOUT = 20_000
HOLDOUT_SEED = 424242


def _aucs(result, holdout) -> dict[str, float]:
    proba = result.model_set.predict_proba(holdout.patients)
    return {o: float(roc_auc_score(holdout.patients[o].astype(int), proba[o]))
            for o in result.model_set.outcomes}


def main(argv: list[str]) -> None:
    n_train = int(argv[0]) if argv else 2000
    seeds = [int(s) for s in argv[1:]] or [0]
    holdout = generate_cohort(HOLDOUT, HOLDOUT_SEED, id_offset=10_000_000)
    deltas = []
    for seed in seeds:
        cohort = generate_cohort(n_train, SAMPLE_SEED + seed)
        with mock.patch("training.train.with_monotone", lambda p, o, f: dict(p or {})):
            off = _aucs(train_model_set(cohort.patients, cohort.sessions, seed=seed,
                                        n_bootstrap=20), holdout)
        on = _aucs(train_model_set(cohort.patients, cohort.sessions, seed=seed,
                                   n_bootstrap=20), holdout)
        delta = {o: on[o] - off[o] for o in on}
        deltas.append(delta)
        print(json.dumps({"n_train": n_train, "seed": seed, "n_holdout": HOLDOUT,
                          "off": off, "on": on, "delta": delta}, sort_keys=True), flush=True)
    mean = {o: float(np.mean([d[o] for d in deltas])) for o in deltas[0]}
    print(json.dumps({"mean_delta": mean}, sort_keys=True))


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    main(sys.argv[1:])
