"""A model set trained to be uninformative for one outcome, for the quality-gate tests.

``hypertensive_reaction`` is one of the outcomes the generator makes most predictable
(held-out AUC about 0.8); here its labels are shuffled across patients before training, so
its model can only learn noise and the gate must grey it out. The other outcomes keep their
labels, so a discriminating outcome (``remission``) must still be shown. Trained once per
test process (a few seconds).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from models.store.modelset import ModelSet
from training.generator.generate import Cohort, generate_cohort
from training.train import train_model_set

GATED = "hypertensive_reaction"  # labels shuffled: uninformative by construction
KEPT = "remission"  # labels kept: discriminates (test AUC about 0.75)
PATIENTS, SEED = 3000, 91


@lru_cache(maxsize=1)
def uninformative() -> tuple[ModelSet, dict, Cohort]:
    """(model set, card, cohort) with ``GATED``'s labels permuted before training."""
    cohort = generate_cohort(PATIENTS, SEED)
    patients = cohort.patients.copy()
    patients[GATED] = np.random.default_rng(SEED).permutation(patients[GATED].to_numpy())
    result = train_model_set(patients, cohort.sessions, seed=0, n_bootstrap=100,
                             data_description={"source": f"generated, {GATED} labels "
                                               "shuffled (quality-gate test)", "seed": SEED})
    card = {**result.card, "trained_by": "tests"}
    return result.model_set, card, cohort
