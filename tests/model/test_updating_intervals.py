"""HAZ-085: the per-patient intervals of an updated outcome are re-estimated on the clinic's
patients and cover the generator's true probabilities of its most recent patients at the
stated rate, with the tolerances of tests/model/test_interval_coverage.py; the parent's
interval merely re-centred on the updated prediction is reported beside it."""

from __future__ import annotations

import dataclasses
import logging

import numpy as np

from models.contract.features import to_model_frame
from models.store import artifacts
from training.generator.generate import generate_cohort
from training.generator.settings import EffectSettings
from training.updating.clinic_data import clinic_dataset
from training.updating.update import update_model_set

log = logging.getLogger(__name__)
SHIFT = {"improvement_intercept": 1.2, "bmi_per_unit": 0.2}  # as tests/model/test_updating.py
PER_OUTCOME_TOLERANCE = 0.07  # tests/model/test_interval_coverage.py's, chosen there
MEAN_TOLERANCE = 0.03


def test_updated_intervals_are_re_estimated_and_cover_the_truth(trained, tmp_path) -> None:
    cohort = generate_cohort(2500, 777, settings=dataclasses.replace(EffectSettings(), **SHIFT),
                             with_truth=True, id_offset=50_000)
    data = clinic_dataset(cohort.patients, cohort.sessions,
                          cohort.patients["patient_id"].tolist())
    truth = cohort.truth.set_index("patient_id").loc[data.test["patient_id"]]
    parent = trained.model_set
    updated, results = update_model_set(parent, data.fit, data.test, "auto", n_boot=50)
    assert updated is not None
    changed = [n for n, r in results.items() if r.step != "current"]
    assert {"response", "remission"} <= set(changed), {n: r.reason for n, r in results.items()}
    X = to_model_frame(data.test)
    coverage = {}
    for name in changed:
        assert updated.intervals[name] is not parent.intervals[name]  # re-estimated
        assert updated.intervals[name].level == parent.intervals[name].level
        centre = updated.outcome_models[name].predict_logit(X)
        p_true = truth[f"p_{name}"].to_numpy()
        lo, hi = updated.intervals[name].interval(X, centre)
        assert ((lo < 1 / (1 + np.exp(-centre))) & (1 / (1 + np.exp(-centre)) < hi)).all()
        coverage[name] = float(np.mean((p_true >= lo) & (p_true <= hi)))
        old_lo, old_hi = parent.intervals[name].interval(X, centre)
        log.warning("updated %s (%s): coverage %.3f (width %.3f); parent's re-centred %.3f "
                    "(width %.3f)", name, results[name].step, coverage[name],
                    float(np.mean(hi - lo)), float(np.mean((p_true >= old_lo)
                                                           & (p_true <= old_hi))),
                    float(np.mean(old_hi - old_lo)))
    for name in set(results) - set(changed):
        assert updated.intervals[name] is parent.intervals[name]  # kept outcome, kept interval
    folder = tmp_path / "stored"
    folder.mkdir()
    artifacts.save(updated, folder)  # plain data, read back without running code
    stored = artifacts.load_bytes({p.name: p.read_bytes() for p in folder.iterdir()})
    for name in changed:
        centre = updated.outcome_models[name].predict_logit(X)
        np.testing.assert_allclose(stored.intervals[name].interval(X, centre),
                                   updated.intervals[name].interval(X, centre), atol=1e-12)
    level = updated.interval_level
    for name, value in coverage.items():
        assert abs(value - level) <= PER_OUTCOME_TOLERANCE, (name, coverage)
    assert abs(np.mean(list(coverage.values())) - level) <= MEAN_TOLERANCE, coverage
