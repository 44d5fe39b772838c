"""Issue 23 defect 8: the monitoring rule also fires when a realised calibration slope's or
intercept's 95 % CI excludes its ideal value (1 / 0), and when a shown outcome's realised
AUC falls below the quality gate on its lower 95 % bound, naming the outcome, the figure
and its CI. Constructed figures and constructed outcomes: no model is trained here."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from base.settings import QUALITY_GATE_MIN_AUC_LOWER
from models.learners.calibration import logit, sigmoid
from training.lifecycle.monitor import (
    OutcomeMonitor,
    apply_rule,
    calibration_ci_reasons,
    monitor_outcome,
    monitor_version,
)

GOOD_TEST_AUC = {"value": 0.78, "lo": 0.74, "hi": 0.82}
CARD = {"metrics": {name: {"auc": dict(GOOD_TEST_AUC)} for name in
                    ("response", "significant_dissociation", "nausea_vomiting")}}
CARD["metrics"]["response"]["auc"] = {"value": 0.68, "lo": 0.61, "hi": 0.75}  # just passes
CARD["metrics"]["nausea_vomiting"]["auc"] = {"value": 0.58, "lo": 0.52, "hi": 0.64}  # gated


def _ci(value: float, lo: float, hi: float) -> dict[str, float]:
    return {"value": value, "lo": lo, "hi": hi}


def _judged(name: str = "significant_dissociation", *, slope=(1.0, 0.8, 1.2),
            intercept=(0.0, -0.2, 0.2), auc=(0.77, 0.72, 0.82), cox_p=0.5) -> OutcomeMonitor:
    result = OutcomeMonitor(name, 500, 100, test_auc=CARD["metrics"][name]["auc"])
    result.metrics = {"auc": _ci(*auc), "calibration_slope": _ci(*slope),
                      "calibration_intercept": _ci(*intercept)}
    result.cox_p = cox_p
    apply_rule(result, 6, CARD)
    return result


def test_a_calibrated_outcome_above_the_gate_is_left_alone() -> None:
    result = _judged()
    assert (result.suggestion, result.reason) == ("", "")


def test_the_reported_slope_ci_excluding_one_fires_though_the_joint_test_does_not() -> None:
    result = _judged(slope=(1.92, 1.05, 3.10), cox_p=0.04)  # 0.04 > 0.05 / 6: test silent
    assert result.suggestion == "recalibration"
    assert result.reason == ("miscalibrated: calibration slope 1.92 (95 % CI 1.05 to 3.10) "
                             "excludes the ideal 1")


@pytest.mark.parametrize("slope", [(0.55, 0.31, 0.83), (1.92, 1.05, 3.10)])
def test_a_slope_ci_on_either_side_of_one_fires(slope) -> None:
    assert _judged(slope=slope).suggestion == "recalibration"


@pytest.mark.parametrize("slope", [(1.40, 0.99, 1.90), (0.70, 0.45, 1.00)])
def test_a_slope_ci_touching_or_holding_one_does_not_fire(slope) -> None:
    assert _judged(slope=slope).suggestion == ""


def test_an_intercept_ci_excluding_zero_fires() -> None:
    result = _judged(intercept=(-0.45, -0.70, -0.20))
    assert result.suggestion == "recalibration"
    assert "calibration intercept -0.45 (95 % CI -0.70 to -0.20) excludes the ideal 0" in \
        result.reason
    assert _judged(intercept=(-0.30, -0.61, 0.02)).suggestion == ""


def test_missing_cis_never_fire() -> None:
    metrics = {"calibration_slope": {"value": 2.0, "lo": None, "hi": None},
               "calibration_intercept": {"value": 0.5, "lo": float("nan"), "hi": None}}
    assert calibration_ci_reasons(metrics) == []


def test_a_shown_outcome_below_the_gate_suggests_retraining() -> None:
    lo = QUALITY_GATE_MIN_AUC_LOWER - 0.03
    result = _judged("response", auc=(0.66, lo, 0.74))  # no drop from the test AUC 0.68
    assert result.auc_drop_p > 0.05
    assert result.suggestion == "retraining"
    assert result.reason == (f"realised ROC AUC 0.66 (95 % CI {lo:.2f} to 0.74): lower bound "
                             f"below the quality gate's {QUALITY_GATE_MIN_AUC_LOWER:.2f}, so "
                             "on this clinic's patients the outcome no longer ranks patients "
                             "reliably (it is still shown to clinicians)")


def test_the_gate_bound_itself_does_not_fire() -> None:
    assert _judged("response", auc=(0.68, QUALITY_GATE_MIN_AUC_LOWER, 0.75)).suggestion == ""


def test_an_outcome_the_card_already_greys_is_noted_not_suggested() -> None:
    result = _judged("nausea_vomiting", auc=(0.57, 0.50, 0.64))
    assert result.suggestion == ""
    assert "already greyed for clinicians" in result.reason


def test_the_retraining_reason_and_the_calibration_reason_are_both_given() -> None:
    result = _judged(auc=(0.62, 0.55, 0.70), slope=(1.92, 1.05, 3.10))
    assert result.suggestion == "retraining"
    assert "lower bound below the quality gate" in result.reason
    assert "calibration slope 1.92 (95 % CI 1.05 to 3.10)" in result.reason


def _outcomes(rng: np.random.Generator, n: int, slope: float = 1.0,
              noise: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Predictions and outcomes drawn from them: with ``slope`` 1 and no noise the
    predictions are calibrated; ``noise`` mixes in predictions unrelated to the outcome."""
    p = sigmoid(rng.normal(-1.0, 1.2, n))
    y = (rng.random(n) < sigmoid(slope * logit(p))).astype(int)
    if noise:
        keep = rng.random(n) >= noise
        p = np.where(keep, p, rng.permutation(p))
    return y, p


def test_constructed_outcomes_each_rule_fires_on_what_it_is_for() -> None:
    rng = np.random.default_rng(20261207)
    y, p = _outcomes(rng, 3000)
    calibrated = monitor_outcome("significant_dissociation", y, p, CARD, 6, n_boot=200)
    assert calibrated.suggestion == "", calibrated.reason
    y, p = _outcomes(rng, 3000, slope=1.6)
    steep = monitor_outcome("significant_dissociation", y, p, CARD, 6, n_boot=200)
    assert steep.suggestion == "recalibration"
    assert steep.metrics["calibration_slope"]["lo"] > 1
    y, p = _outcomes(rng, 600, noise=0.85)
    weak = monitor_outcome("response", y, p, CARD, 6, n_boot=200)
    assert weak.metrics["auc"]["lo"] < QUALITY_GATE_MIN_AUC_LOWER
    assert weak.suggestion == "retraining" and "quality gate" in weak.reason


def test_the_version_message_names_the_outcome_the_figure_and_its_ci() -> None:
    rng = np.random.default_rng(7)
    y, p = _outcomes(rng, 3000, slope=1.6)
    labelled = pd.DataFrame({"significant_dissociation": y})
    result = monitor_version("v1", CARD, labelled,
                             pd.DataFrame({"significant_dissociation": p}),
                             pd.DataFrame(), "constructed", n_boot=200)
    slope = result.outcomes[0].metrics["calibration_slope"]
    assert result.suggestion == "recalibration suggested"
    assert result.reasons[0].startswith("Significant dissociation: recalibration suggested: ")
    assert (f"slope {slope['value']:.2f} (95 % CI {slope['lo']:.2f} to {slope['hi']:.2f})"
            in result.reasons[0])
