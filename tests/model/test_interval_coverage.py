"""Per-patient intervals (issue 14, part 4) cover the generator's true probability at their
stated rate on patients the models never saw, and survive the registry round trip."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from models.contract.schema import outcome_names
from models.inference.predict import predict_frame
from models.store.registry import Registry
from training.generator.generate import generate_cohort

log = logging.getLogger(__name__)

# Measured coverage moves with the cohort (and the oracle's 400 Monte-Carlo replicates);
# a per-outcome tolerance of 7 points and 3 points on the mean, chosen before the figures in
# docs/monitoring.md were recorded; narrower bands fail on a good interval now and then.
PER_OUTCOME_TOLERANCE = 0.07
MEAN_TOLERANCE = 0.03


@pytest.fixture(scope="module")
def held_out():
    return generate_cohort(3000, seed=515151, with_truth=True, id_offset=50_000)


def test_intervals_cover_the_true_probability_at_the_stated_rate(trained, held_out) -> None:
    model_set = trained.model_set
    level = model_set.interval_level
    assert level == pytest.approx(0.9)
    bounds = model_set.predict_interval(held_out.patients)
    proba = model_set.predict_proba(held_out.patients)
    coverage = {}
    for name in outcome_names():
        lo, hi = bounds[f"{name}_lo"].to_numpy(), bounds[f"{name}_hi"].to_numpy()
        truth = held_out.truth[f"p_{name}"].to_numpy()
        assert ((lo <= proba[name]) & (proba[name] <= hi)).all()  # around the shown number
        coverage[name] = float(np.mean((truth >= lo) & (truth <= hi)))
        log.warning("interval coverage %s: %.3f (mean width %.3f)", name, coverage[name],
                    float(np.mean(hi - lo)))
    for name, value in coverage.items():
        assert abs(value - level) <= PER_OUTCOME_TOLERANCE, (name, coverage)
    assert abs(np.mean(list(coverage.values())) - level) <= MEAN_TOLERANCE, coverage


def test_bootstrap_spread_alone_would_under_cover(trained, held_out) -> None:
    """Why the approximation-error term is there: without it coverage falls well short."""
    model = trained.model_set.outcome_models["response"]
    interval = trained.model_set.intervals["response"]
    X = trained.model_set.model_frame(held_out.patients)
    spread = interval.member_logits(X).std(axis=0, ddof=1)
    centre = model.predict_logit(X)
    lo, hi = (1 / (1 + np.exp(-(centre + s * 1.645 * spread))) for s in (-1, 1))
    truth = held_out.truth["p_response"].to_numpy()
    assert np.mean((truth >= lo) & (truth <= hi)) < interval.level - 0.1


def test_intervals_survive_the_registry_and_reach_predict_frame(trained, tmp_path) -> None:
    registry = Registry(tmp_path / "reg")
    version = registry.register(trained.model_set, trained.result.card)
    loaded, card = registry.load(version)
    patients = trained.test_patients.iloc[:30]
    out = predict_frame(loaded, patients)
    before = trained.model_set.predict_interval(patients)
    np.testing.assert_allclose(out["response_interval_lo"], before["response_lo"], atol=1e-12)
    assert (out["response_interval_lo"] < out["response_probability"]).all()
    assert (out["response_probability"] < out["response_interval_hi"]).all()
    assert "90%" in card["models"]["interval"]
