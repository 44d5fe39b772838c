"""Updating the synthetic-trained models on a clinic's realised outcomes (issue 29): the
Riley guard, the closed test, SHAP additivity of each step, and shifted/unshifted/small
clinics measured against the generator's true probabilities."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from models.contract.features import to_model_frame
from models.inference.explain import explain_frame
from training.evaluate import logistic_batch
from training.generator.generate import generate_cohort
from training.generator.settings import EffectSettings
from training.updating.clinic_data import clinic_dataset
from training.updating.closed_test import choose_step, gate_test, holm_levels
from training.updating.sample_size import riley_sample_size
from training.updating.steps import fit_step, loglik, scaled_booster
from training.updating.update import UpdateRefused, update_model_set, update_outcome

# A clinic whose patients respond more often (baseline) and whose BMI effect is over three
# times the training cohort's (0.06 per kg/m²: Niciu 2014 direction, size unsourced).
SHIFT = {"improvement_intercept": 1.2, "bmi_per_unit": 0.2}
CLINIC_SEED = 777


def clinic(n: int, shifted: bool) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(fit, test, true probabilities of the test patients) of a generated clinic, split by
    arrival like the store's (the generator's row order)."""
    settings = dataclasses.replace(EffectSettings(), **SHIFT) if shifted else None
    cohort = generate_cohort(n, CLINIC_SEED, settings=settings, with_truth=True,
                             id_offset=50_000)
    data = clinic_dataset(cohort.patients, cohort.sessions,
                          cohort.patients["patient_id"].tolist())
    truth = cohort.truth.set_index("patient_id").loc[data.test["patient_id"]]
    return data.fit, data.test, truth


def test_riley_reproduces_the_published_example() -> None:
    """Riley et al. BMJ 2020 (pmsampsize's example): R²cs 0.288, 24 parameters,
    prevalence 0.174 -> criteria 623 / 662 / 221, so n = 662 with 116 events."""
    check = riley_sample_size(24, 0.174, 0.288, n_available=661, events_available=115)
    assert (check.n_shrinkage, check.n_optimism, check.n_risk) == (623, 662, 221)
    assert check.n_required == 662 and check.events_required == 116
    assert not check.sufficient and "needs n >= 662" in check.describe()


def test_closed_test_keeps_current_without_evidence_and_takes_the_simplest() -> None:
    fits = {"intercept": (-500.0, 1), "logistic": (-499.8, 2), "revision": (-495.0, 17)}
    assert choose_step(-500.5, fits).step == "current"
    fits = {"intercept": (-480.0, 1), "logistic": (-479.5, 2), "revision": (-476.0, 17)}
    assert choose_step(-500.0, fits).step == "intercept"
    fits = {"intercept": (-480.0, 1), "logistic": (-470.0, 2), "revision": (-465.0, 17)}
    assert choose_step(-500.0, fits).step == "logistic"
    assert choose_step(-500.0, {}).step == "current"


def test_holm_levels_step_down_and_stop_at_the_first_failure() -> None:
    levels = holm_levels({"a": 0.001, "b": 0.02, "c": 0.2, "d": 0.012})
    assert levels == pytest.approx({"a": 0.05 / 4, "d": 0.05 / 3, "b": 0.05 / 2, "c": 0.05})
    levels = holm_levels({"a": 0.001, "b": 0.03, "c": 0.04})  # b fails 0.025: c fails too
    assert levels["b"] == levels["c"] == pytest.approx(0.025) and levels["c"] < 0.04


def _null_version_updates(rng: np.random.Generator, n: int, outcomes: int,
                          holm: bool) -> bool:
    """Whether the closed test updates any outcome of a perfectly calibrated version."""
    fits_by_outcome, current = {}, {}
    for k in range(outcomes):
        z = rng.normal(-0.5, 1.0, n)
        y = (rng.uniform(size=n) < 1 / (1 + np.exp(-z))).astype(float)
        _, a0 = logistic_batch(z, y, fix_slope=True)
        b1, a1 = logistic_batch(z, y)
        current[k] = loglik(y, z)
        fits_by_outcome[k] = {"intercept": (loglik(y, z + a0[0]), 1),
                              "logistic": (loglik(y, a1[0] + b1[0] * z), 2)}
    gates = {k: gate_test(current[k], f).p_value for k, f in fits_by_outcome.items()}
    levels = holm_levels(gates) if holm else dict.fromkeys(gates, 0.05)
    return any(choose_step(current[k], f, levels[k]).step != "current"
               for k, f in fits_by_outcome.items())


def test_holm_keeps_needless_updates_of_a_calibrated_version_near_five_percent() -> None:
    """Six calibrated outcomes (y drawn from the model's own probabilities), 400 clinics of
    500 patients: per-outcome 5 % tests update some outcome in about 1 - 0.95^6 = 26 % of
    clinics; with Holm across the outcomes in about 5 % (binomial 95 % range 2.9-7.3 %)."""
    rng = np.random.default_rng(29)
    plain = np.mean([_null_version_updates(rng, 500, 6, holm=False) for _ in range(400)])
    held = np.mean([_null_version_updates(rng, 500, 6, holm=True) for _ in range(400)])
    assert 0.18 < plain < 0.34, plain
    assert held <= 0.075, held


def test_scaled_booster_is_an_affine_map_of_the_margin(trained) -> None:
    model = trained.model_set.outcome_models["response"]
    X = to_model_frame(trained.test_patients)
    scaled = scaled_booster(model.booster_, 1.37, -0.42)
    expected = 1.37 * model.booster_.predict(X, raw_score=True) - 0.42
    assert np.allclose(scaled.predict(X, raw_score=True), expected, atol=1e-9)


@pytest.mark.parametrize("step", ["intercept", "logistic", "revision"])
def test_updated_model_keeps_exact_shap_additivity(trained, step: str) -> None:
    """Base + contributions = the updated calibrated log-odds, through ``explain_frame``,
    and the compiled TreeSHAP equals LightGBM's own on the updated booster."""
    fit, test, _ = clinic(900, shifted=True)
    model = trained.model_set.outcome_models["response"]
    updated = fit_step(step, model, to_model_frame(fit), fit["response"].to_numpy()).model
    X = to_model_frame(test.head(40))
    assert not np.allclose(updated.predict_logit(X), model.predict_logit(X))
    fast, _ = updated.raw_contributions(X)
    reference, _ = updated.raw_contributions(X, reference=True)
    assert np.abs(fast - reference).max() < 1e-9
    ms = dataclasses.replace(trained.model_set,
                             outcome_models={**trained.model_set.outcome_models,
                                             "response": updated})
    explained = explain_frame(ms, test.head(40), "response")
    total = explained.base + explained.contributions.sum(axis=1).to_numpy()
    assert np.abs(total - updated.predict_logit(X)).max() < 1e-9
    assert np.abs(explained.logit.to_numpy() - updated.predict_logit(X)).max() < 1e-9


def _brier_vs_truth(model_set, test: pd.DataFrame, truth: pd.DataFrame, name: str) -> float:
    p = model_set.predict_proba(test)[name].to_numpy()
    return float(np.mean((p - truth[f"p_{name}"].to_numpy()) ** 2))


@pytest.mark.slow
def test_shifted_clinic_auto_update_moves_slope_to_one_and_improves_brier(trained) -> None:
    fit, test, truth = clinic(2500, shifted=True)
    updated, results = update_model_set(trained.model_set, fit, test, "auto",
                                        outcomes=["response"], n_boot=100)
    result = results["response"]
    assert result.step in ("intercept", "logistic", "revision"), result.reason
    assert not result.sample_size["refit"].sufficient  # 1,750 patients cannot refit 46 terms
    before = result.current_on_recent["calibration_slope"]["value"]
    after = result.updated_on_recent["calibration_slope"]["value"]
    assert abs(after - 1) < abs(before - 1)
    assert (result.updated_on_recent["brier"]["value"]
            < result.current_on_recent["brier"]["value"])
    assert (_brier_vs_truth(updated, test, truth, "response")
            < _brier_vs_truth(trained.model_set, test, truth, "response"))


def test_too_few_patients_are_refused_with_the_numbers(trained) -> None:
    fit, test, _ = clinic(260, shifted=True)
    updated, results = update_model_set(trained.model_set, fit, test, "auto",
                                        outcomes=["response"], n_boot=50)
    assert updated is None and results["response"].step == "current"
    assert not any(c.sufficient for c in results["response"].sample_size.values())
    with pytest.raises(UpdateRefused, match=r"logistic refused: Riley criteria .* needs n >="):
        update_outcome("response", trained.model_set.outcome_models["response"], fit, test,
                       "logistic", n_boot=50)


def test_unshifted_clinic_keeps_the_current_version(trained) -> None:
    fit, test, _ = clinic(1500, shifted=False)
    updated, results = update_model_set(trained.model_set, fit, test, "auto",
                                        outcomes=["response", "remission"], n_boot=50)
    assert updated is None, {k: r.reason for k, r in results.items()}
    assert all(r.step == "current" for r in results.values())


def test_monitoring_names_the_update_that_answers_each_suggestion() -> None:
    """A miscalibrated outcome's suggestion comes with the `kapcds update` command."""
    from training.lifecycle.monitor import monitor_version

    rng = np.random.default_rng(5)
    p = rng.uniform(0.1, 0.5, 800)
    y = (rng.uniform(size=800) < np.clip(p + 0.3, 0, 1)).astype(int)  # under-predicted
    labelled = pd.DataFrame({"response": y})
    result = monitor_version("v1", {}, labelled, pd.DataFrame({"response": p}),
                             pd.DataFrame(), "test", n_boot=50)
    assert result.outcomes[0].suggestion in ("recalibration", "retraining")
    assert result.actions and "kapcds update --from-store --outcome response" in \
        result.actions[0]
    calibrated = (rng.uniform(size=800) < p).astype(int)
    quiet = monitor_version("v1", {}, pd.DataFrame({"response": calibrated}),
                            pd.DataFrame({"response": p}), pd.DataFrame(), "test", n_boot=50)
    assert quiet.outcomes[0].suggestion == "" and quiet.actions == []
