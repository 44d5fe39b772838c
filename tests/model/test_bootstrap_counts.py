"""Bootstrap resamples as counts (``training.bootstrap_metrics``) give the metrics of the
materialised resamples: the AUC bit for bit, the rest to rounding."""

from __future__ import annotations

import numpy as np
import pytest

from models.learners.calibration import logit
from training.bootstrap_metrics import counted_rank_metrics, resample_counts
from training.evaluate import auc_batch, average_precision_batch, logistic_batch


@pytest.mark.parametrize(("n", "prevalence"), [(3000, 0.3), (3000, 0.02), (40, 0.1)])
def test_counts_match_the_materialised_resamples(n: int, prevalence: float) -> None:
    rng = np.random.default_rng(n)
    y = (rng.random(n) < prevalence).astype(float)
    p = np.round(np.clip(rng.beta(2, 5, n) + 0.2 * y, 1e-4, 1 - 1e-4), 3)  # with ties
    idx = np.random.default_rng(1).integers(0, n, size=(60, n))
    counts = resample_counts(idx, n)
    assert counts.sum(axis=1).tolist() == [n] * 60
    got = counted_rank_metrics(y, p, counts)
    yb, pb = y[idx], p[idx]
    np.testing.assert_array_equal(got["auc"], auc_batch(yb, pb))  # NaN where one class
    np.testing.assert_allclose(got["pr_auc"], average_precision_batch(yb, pb), rtol=1e-12)
    np.testing.assert_allclose(got["brier"], ((pb - yb) ** 2).mean(axis=1), rtol=1e-12)
    for fix_slope in (False, True):
        weighted = logistic_batch(logit(p)[None, :], y[None, :], fix_slope=fix_slope,
                                  weight=counts)
        plain = logistic_batch(logit(pb), yb, fix_slope=fix_slope)
        np.testing.assert_allclose(weighted, plain, rtol=1e-9, atol=1e-12)
