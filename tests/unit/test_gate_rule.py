"""The per-outcome quality gate's rule (models.clinical.quality_gate) and how the card, the risk
wording, prediction tables and version lists carry it."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from base.settings import QUALITY_GATE_MIN_AUC_LOWER
from models.clinical.quality_gate import (
    UNRELIABLE,
    card_section,
    gate_for,
    outcome_quality,
    withhold_unreliable,
)
from models.clinical.risk_wording import outcome_risk
from models.store.card_text import describe_version, render_card_markdown


def _metrics(lo: float | None, value: float = 0.7) -> dict:
    return {"n": 400, "prevalence": 0.3, "auc": {"value": value, "lo": lo, "hi": value + 0.05}}


def _card(**los: float | None) -> dict:
    metrics = {name: _metrics(lo) for name, lo in los.items()}
    curve = [{"bin_lo": b / 10, "bin_hi": (b + 1) / 10, "n": 40, "observed": 0.3}
             for b in range(10)]
    return {"metrics": metrics, "evaluation": {"report": {"outcomes": {
        name: {"calibration_curve": curve} for name in los}}}}


def test_the_threshold_is_the_documented_boundary() -> None:
    assert QUALITY_GATE_MIN_AUC_LOWER == 0.60  # clinical-reference §7: "fails to discriminate"


@pytest.mark.parametrize(("lo", "reliable"), [(0.60, True), (0.65, True), (0.5999, False),
                                              (0.45, False), (None, False),
                                              (float("nan"), False)])
def test_lower_bound_decides(lo: float | None, reliable: bool) -> None:
    quality = outcome_quality(_card(response=lo), "response")
    assert quality.reliable is reliable
    assert (UNRELIABLE in quality.reason) is not reliable


def test_no_evidence_is_not_reliable() -> None:
    assert not outcome_quality({}, "response").reliable
    assert not outcome_quality(None, "response").reliable
    assert not gate_for(_card(remission=0.7))("response")
    assert gate_for(_card(remission=0.7))("remission")


def test_a_gated_risk_has_nothing_patient_specific() -> None:
    card = _card(response=0.7, nausea_vomiting=0.49)
    others = pd.Series([0.1, 0.2, 0.5, 0.6])
    shown = outcome_risk(card, others, "response", 0.55)
    assert shown.reliable and shown.percentile == 75 and shown.similar == "50%–60%"
    gated = outcome_risk(card, others, "nausea_vomiting", 0.55)
    assert not gated.reliable and math.isnan(gated.probability)
    assert math.isnan(gated.percentile) and gated.similar == "" and gated.observed is None
    assert UNRELIABLE in gated.calibration and "30%" in gated.calibration  # the overall rate


def test_prediction_tables_get_a_flag_and_lose_gated_numbers() -> None:
    frame = pd.DataFrame({"patient_id": ["a", "b"], "response_probability": [0.4, 0.6],
                          "response_base": [0.1, 0.1], "response__shap__bmi": [0.2, -0.2],
                          "dropout_probability": [0.3, 0.2], "dropout_base": [0.0, 0.0]})
    out = withhold_unreliable(frame, _card(response=0.7, dropout=0.5),
                              ["response", "dropout"])
    assert list(out.columns) == ["patient_id", "response_probability", "response_reliable",
                                 "response_base", "response__shap__bmi",
                                 "dropout_probability", "dropout_reliable", "dropout_base"]
    assert out["response_reliable"].all() and not out["dropout_reliable"].any()
    assert out["response_probability"].tolist() == [0.4, 0.6]
    assert out[["dropout_probability", "dropout_base"]].isna().all().all()
    kept = withhold_unreliable(frame, _card(response=0.7, dropout=0.5), ["dropout"],
                               withhold=False)
    assert kept["dropout_probability"].tolist() == [0.3, 0.2] and not kept["dropout_reliable"].any()


def test_the_card_documents_the_gate() -> None:
    metrics = {"response": _metrics(0.66), "nausea_vomiting": _metrics(0.49, 0.54)}
    section = card_section(metrics)
    assert section["threshold"] == QUALITY_GATE_MIN_AUC_LOWER
    assert section["outcomes"]["response"]["reliable"] is True
    assert section["outcomes"]["nausea_vomiting"]["reliable"] is False
    full = {**{k: {**v, "pr_auc": {}, "brier": {}, "calibration_intercept": {},
                   "calibration_slope": {}} for k, v in metrics.items()}}
    text = render_card_markdown({"metrics": full, "quality_gate": section,
                                 "training_data": {"description": "x"}})
    assert "## Quality gate (per outcome)" in text and "at least 0.60" in text
    assert "| Nausea or vomiting | **greyed: not shown** | this model does not reliably" in text
    assert "| Response | shown |" in text


def test_version_descriptions() -> None:
    card = {"training_data": {"source": "/home/x/kap/data_samples", "n_patients": 2000},
            "created_utc": "2026-11-25T10:00:00+00:00", "trained_by": "dr_lee"}
    assert describe_version(card) == "data_samples/, 2,000 patients, 2026-11-25, by dr_lee"
    generated = {"training_data": {"source": "generated", "seed": 7, "n_patients": 300}}
    assert describe_version(generated) == ("generated (seed 7), 300 patients, undated, "
                                           "by unknown")
