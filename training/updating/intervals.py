"""Per-patient intervals of updated outcomes, re-estimated on the clinic's fitting patients
(issue 29, HAZ-085): see ``models.learners.updated_interval`` for the method and
tests/model/test_updating_intervals.py for the measured coverage."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from models.contract.features import to_model_frame
from models.learners.estimators import OutcomeModel
from models.learners.uncertainty import ProbabilityInterval, reference_design
from models.learners.updated_interval import UpdatedInterval
from models.store.modelset import ModelSet
from training.evaluate import logistic_batch


def local_intervals(parent: ModelSet, models: dict[str, OutcomeModel],
                    steps: dict[str, str], fit: pd.DataFrame,
                    seed: int = 0) -> dict[str, Any]:
    """Per-patient intervals of the updated outcomes re-estimated on the clinic's fitting
    patients (HAZ-085; ``models.learners.updated_interval``): the parent's interval measured
    the parent's error on synthetic patients, not the update's. A refit gets a training's
    interval fitted on the clinic's patients. Coverage of the generator's true
    probabilities: tests/model/test_updating_intervals.py."""
    if not models:
        return {}
    X = to_model_frame(fit)
    design = reference_design(X, seed)
    out: dict[str, Any] = {}
    for name, model in models.items():
        y = fit[name].astype(int).to_numpy()
        centre = model.predict_logit(X)
        old = (parent.intervals or {}).get(name)
        if steps[name] == "refit" or old is None:
            out[name] = ProbabilityInterval(seed=seed).fit(
                X, y, model.params_, model.best_iteration_, centre, design)
            continue
        z = parent.outcome_models[name].predict_logit(X)
        counts = np.stack([np.bincount(idx, minlength=len(y)) for idx in np.random.default_rng(
            [seed, 85]).integers(0, len(y), (len(old.members_), len(y)))])
        slope, intercept = logistic_batch(z, y, fix_slope=steps[name] == "intercept",
                                          weight=counts)
        out[name] = UpdatedInterval(old, np.column_stack([slope, intercept]),
                                    old.disagreement_)
    return out
