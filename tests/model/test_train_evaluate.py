"""Training output, evaluation metrics and the model card."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from models.contract.schema import outcome_names, schema_hash
from models.inference.predict import predict_frame
from models.learners.calibration import logit, sigmoid
from models.store.card_text import render_card_markdown
from models.store.registry import Registry
from training.evaluate import (
    THRESHOLDS,
    age_band,
    decision_curve,
    evaluate_model_set,
    evaluate_predictions,
    metrics_table,
    metrics_with_ci,
)
from training.generator.generate import generate_cohort
from training.train import train_model_set


def _simulated(n: int, seed: int, scale: float = 1.0, shift: float = 0.0):
    rng = np.random.default_rng(seed)
    z = rng.normal(-0.5, 1.2, n)
    y = (rng.random(n) < sigmoid(z)).astype(float)
    return y, sigmoid(z / scale + shift)


def test_point_metrics_match_sklearn() -> None:
    y, p = _simulated(700, 1)
    p = np.round(p, 2)  # ties
    metrics = metrics_with_ci(y, p, n_boot=20)
    assert metrics["auc"]["value"] == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    assert metrics["pr_auc"]["value"] == pytest.approx(average_precision_score(y, p), abs=1e-12)
    assert metrics["brier"]["value"] == pytest.approx(brier_score_loss(y, p), abs=1e-12)


def test_calibration_slope_and_intercept_recover_a_known_miscalibration() -> None:
    y, p = _simulated(20_000, 2)
    good = metrics_with_ci(y, p, n_boot=20)
    assert good["calibration_slope"]["value"] == pytest.approx(1.0, abs=0.05)
    assert good["calibration_intercept"]["value"] == pytest.approx(0.0, abs=0.05)
    y, p = _simulated(20_000, 2, scale=2.0)  # logits halved: underconfident, slope 2
    assert metrics_with_ci(y, p, n_boot=20)["calibration_slope"]["value"] == pytest.approx(
        2.0, abs=0.1)
    y, p = _simulated(20_000, 2, shift=0.5)  # predictions too high: intercept -0.5
    assert metrics_with_ci(y, p, n_boot=20)["calibration_intercept"]["value"] == pytest.approx(
        -0.5, abs=0.05)


def test_bootstrap_intervals_are_seeded_and_shrink_with_more_data() -> None:
    small = metrics_with_ci(*_simulated(300, 3), n_boot=100, seed=1)
    assert small == metrics_with_ci(*_simulated(300, 3), n_boot=100, seed=1)
    large = metrics_with_ci(*_simulated(5000, 3), n_boot=100, seed=1)
    for name in ("auc", "brier", "calibration_slope"):
        assert small[name]["lo"] <= small[name]["value"] <= small[name]["hi"]
        assert large[name]["hi"] - large[name]["lo"] < small[name]["hi"] - small[name]["lo"]


def test_decision_curve_reference_lines() -> None:
    y = np.array([1, 0, 0, 1, 0, 0, 0, 1, 0, 0], dtype=float)
    perfect = decision_curve(y, y.copy())
    assert [row["threshold"] for row in perfect] == list(THRESHOLDS)
    for row in perfect:
        t = row["threshold"]
        assert row["model"] == pytest.approx(0.3)
        assert row["treat_all"] == pytest.approx(0.3 - 0.7 * t / (1 - t))
        assert row["treat_none"] == 0.0


def test_age_bands() -> None:
    assert age_band(pd.Series([18, 39, 40, 64, 65, 90])).tolist() == [
        "<40", "<40", "40-64", "40-64", ">=65", ">=65"]


def test_subgroups_cover_every_patient(trained) -> None:
    patients = trained.test_patients
    y = patients["response"].to_numpy(dtype=float)
    report = evaluate_predictions(patients, y, np.full(len(y), y.mean()), n_boot=10)
    for variable in ("sex", "age_band", "route", "primary_diagnosis"):
        rows = [r for r in report["subgroups"] if r["variable"] == variable]
        assert sum(r["n"] for r in rows) == len(patients)
    assert sum(b["n"] for b in report["calibration_curve"]) == len(patients)


def test_evaluation_report_is_json_and_tabulates(trained) -> None:
    report = evaluate_model_set(trained.model_set, trained.test_patients, n_boot=20)
    json.dumps(report, allow_nan=False)
    table = metrics_table(report)
    assert table["outcome"].tolist() == outcome_names()
    assert (table["n"] == len(trained.test_patients)).all()
    assert ((table["auc_lo"] <= table["auc"]) & (table["auc"] <= table["auc_hi"])).all()


def test_train_result_card_and_progress(trained) -> None:
    result = trained.result
    assert len(result.test_ids) == 400
    assert set(result.test_ids) <= set(trained.cohort.patients["patient_id"])
    summary = result.model_set.train_summary
    assert (summary["n_train"], summary["n_valid"], summary["n_test"]) == (1200, 400, 400)
    card = result.card
    for key in ("intended_use", "out_of_scope", "training_data", "metrics", "subgroups",
                "limits", "packages", "schema_hash", "training_seconds", "created_utc"):
        assert key in card, key
    assert card["schema_hash"] == schema_hash() == result.model_set.schema_hash
    assert card["training_data"]["seed"] == trained.cohort.seed
    assert set(card["packages"]) >= {"python", "lightgbm", "shap", "scikit-learn", "pandas"}
    assert any("children" in item.lower() for item in card["out_of_scope"])
    json.dumps(card, allow_nan=False)
    markdown = render_card_markdown(card)
    assert "## Intended use" in markdown and "| Response |" in markdown


def test_progress_is_reported_and_training_is_reproducible() -> None:
    cohort = generate_cohort(600, 11)
    calls: list[tuple[int, int, str]] = []
    first = train_model_set(cohort.patients, cohort.sessions, seed=1, n_bootstrap=5,
                            progress=lambda step, total, message: calls.append(
                                (step, total, message)))
    steps = [c[0] for c in calls]
    assert steps == list(range(1, len(calls) + 1))
    assert {c[1] for c in calls} == {len(calls)}
    assert any("response" in c[2] for c in calls)
    again = train_model_set(cohort.patients, cohort.sessions, seed=1, n_bootstrap=5)
    assert again.test_ids == first.test_ids
    pd.testing.assert_frame_equal(again.model_set.predict_proba(cohort.patients),
                                  first.model_set.predict_proba(cohort.patients))


def test_registry_round_trip_keeps_predictions(trained, tmp_path) -> None:
    registry = Registry(tmp_path)
    version = registry.register(trained.model_set, trained.result.card)
    registry.promote(version)
    loaded, card = registry.load()
    assert card["version"] == version
    patients = trained.test_patients
    pd.testing.assert_frame_equal(loaded.predict_proba(patients),
                                  trained.model_set.predict_proba(patients))
    entry = registry.versions()[0]
    assert entry["current"] and entry["metrics"]["response"] == pytest.approx(
        card["metrics"]["response"]["auc"]["value"])


def test_predict_frame_columns(trained) -> None:
    patients = trained.test_patients.iloc[:25]
    out = predict_frame(trained.model_set, patients)
    assert list(out.columns) == (["patient_id"] + [f"{o}_probability" for o in outcome_names()]
                                 + [f"{o}_interval_{end}" for o in outcome_names()
                                    for end in ("lo", "hi")]
                                 + ["eligibility_status", "exclusions", "cautions",
                                    "ood_overall", "ood_features"])
    assert out.index.equals(patients.index)
    assert ((out.filter(like="_probability") > 0) & (out.filter(like="_probability") < 1)
            ).all().all()
    assert np.isfinite(logit(out["response_probability"])).all()
