"""Data tests: the synthetic cohort is reproducible, consistent and clinically plausible."""

from __future__ import annotations

import filecmp

import numpy as np
import pandas as pd
import pytest

from base import settings
from models.contract.schema import FEATURES, SESSION_FIELDS, outcome_names
from training.generator.generate import generate_cohort, patient_columns, write_cohort
from training.outcomes import derive_outcomes


@pytest.fixture(scope="module")
def cohort():
    return generate_cohort(6000, seed=7, with_truth=True, oracle_replicates=100)


def test_committed_samples_regenerate_identically(tmp_path):
    """data_samples/ is exactly what the generator makes with the documented seed."""
    cohort = generate_cohort(settings.SAMPLE_PATIENTS, settings.SAMPLE_SEED, with_truth=True)
    write_cohort(cohort, tmp_path)
    for name in ("patients.csv", "sessions.csv", "truth.csv", "effects.json", "followup.csv",
                 "followup_sessions.csv"):
        assert filecmp.cmp(tmp_path / name, settings.DATA_SAMPLES_DIR / name, shallow=False), name


def test_each_patient_has_one_dose_in_the_unit_of_its_route(cohort):
    """Esketamine in fixed mg (56/84, the label), ketamine per kg; never both, never per kg."""
    patients, sessions = cohort.patients, cohort.sessions
    for frame in (patients, sessions):
        esk = frame["route"] == "intranasal_esketamine"
        assert frame.loc[esk, "dose_mg_per_kg"].isna().all()
        assert set(frame.loc[esk, "esketamine_dose_mg"]) == {56.0, 84.0}
        assert frame.loc[~esk, "esketamine_dose_mg"].isna().all()
        assert frame.loc[~esk, "dose_mg_per_kg"].notna().all()
    assert 0.5 < (patients.loc[patients["route"] == "intranasal_esketamine",
                               "esketamine_dose_mg"] == 56).mean() < 1


def test_same_seed_same_cohort_other_seed_differs():
    a = generate_cohort(300, seed=3)
    b = generate_cohort(300, seed=3)
    c = generate_cohort(300, seed=4)
    pd.testing.assert_frame_equal(a.patients, b.patients)
    pd.testing.assert_frame_equal(a.sessions, b.sessions)
    assert not a.patients[["age", "bmi"]].equals(c.patients[["age", "bmi"]])


def test_oracle_does_not_change_the_cohort():
    plain = generate_cohort(200, seed=11)
    with_truth = generate_cohort(200, seed=11, with_truth=True, oracle_replicates=20)
    pd.testing.assert_frame_equal(plain.patients, with_truth.patients)


def test_columns_follow_the_schema(cohort):
    assert list(cohort.patients[patient_columns()].columns) == patient_columns()
    assert list(cohort.sessions.columns) == [f.name for f in SESSION_FIELDS]
    assert list(cohort.truth.columns) == (["patient_id"] + [f"p_{o}" for o in outcome_names()]
                                          + ["p_relapse"])


def test_values_stay_inside_schema_ranges(cohort):
    for spec in FEATURES:
        column = cohort.patients[spec.name]
        if spec.dtype == "category":
            assert set(column) <= set(spec.categories), spec.name
        elif spec.dtype in ("int", "float"):
            given = column.dropna() if spec.nullable else column
            assert given.between(spec.min, spec.max).all(), spec.name
    for spec in SESSION_FIELDS:
        if spec.dtype in ("int", "float"):
            values = cohort.sessions[spec.name].dropna().astype(float)
            assert values.between(spec.min, spec.max).all(), spec.name


@pytest.mark.parametrize(
    ("outcome", "low", "high"),
    [
        ("response", 0.50, 0.62),  # McInnes 2022 53.6 %, Phillips 59 %
        ("remission", 0.20, 0.31),  # McInnes 28.9 %, Oliver 20 %
        ("hypertensive_reaction", 0.09, 0.16),  # Yale 2024 12.5 %
        ("nausea_vomiting", 0.25, 0.45),  # TRANSFORM-1 nausea 29.4 %
        ("dropout", 0.25, 0.50),  # ORKA-2: ~50 % do not complete 6
    ],
)
def test_marginal_rates_match_the_reference(cohort, outcome, low, high):
    assert low <= cohort.patients[outcome].mean() <= high


def test_one_in_five_stop_after_the_first_session(cohort):
    sessions = cohort.sessions
    stopped_first = sessions.loc[sessions["dropout_after"], "session_number"].eq(1).sum()
    assert 0.15 <= stopped_first / len(cohort.patients) <= 0.25


def test_iv_blood_pressure_rise_matches_yale(cohort):
    iv = cohort.sessions[cohort.sessions["route"] == "iv"]
    rise = iv["sbp_post"] - iv["sbp_pre"]
    assert 12 <= rise.mean() <= 20  # +16 (SD 11) mmHg


def test_outcomes_are_derived_from_the_sessions(cohort):
    derived = derive_outcomes(cohort.patients, cohort.sessions)
    patients = cohort.patients.set_index("patient_id")
    for name in outcome_names() + ["sessions_attended"]:
        assert (derived[name] == patients[name]).all(), name
    counts = cohort.sessions.groupby("patient_id").size()
    assert (counts.reindex(patients.index).to_numpy() == patients["sessions_attended"]).all()


def test_dropout_flag_marks_the_last_session_of_an_incomplete_series(cohort):
    last = cohort.sessions.groupby("patient_id").tail(1).set_index("patient_id")
    patients = cohort.patients.set_index("patient_id").loc[last.index]
    assert (last["dropout_after"] == (patients["dropout"] == 1)).all()
    assert cohort.sessions.groupby("patient_id")["dropout_after"].sum().max() <= 1


def test_exclusions_are_present_but_rare(cohort):
    p = cohort.patients
    excluded = ((p["substance_use"] == "active") | p["psychosis_history"] | p["pregnant"]
                | (p["heart_disease"] == "severe") | (p["liver_disease"] == "severe")
                | (p["hypertension"] == "uncontrolled"))
    assert 0.005 < excluded.mean() < 0.10


def test_oracle_probabilities_agree_with_observed_rates(cohort):
    for name in outcome_names():
        observed = cohort.patients[name].mean()
        expected = cohort.truth[f"p_{name}"].mean()
        assert abs(observed - expected) < 0.03, name


def test_planted_directions_show_in_the_oracle(cohort):
    """Higher BMI and family history of AUD raise the true chance of response."""
    data = cohort.patients.merge(cohort.truth, on="patient_id")
    assert np.corrcoef(data["bmi"], data["p_response"])[0, 1] > 0.05
    fam = data.groupby("family_history_aud")["p_response"].mean()
    assert fam[True] > fam[False]
    benzo = data.groupby(data["benzo_dose_mg"] > 8)["p_response"].mean()
    assert benzo[True] < benzo[False]
    age = np.corrcoef(data["age"], data["p_hypertensive_reaction"])[0, 1]
    assert age > 0.05


def test_committed_samples_pass_the_validation_layer():
    """The shipped cohort is valid input for train/evaluate/import (same checks as users get)."""
    from models.contract.csv_input import read_csv_strict
    from models.contract.validation import validate_patients, validate_sessions

    patients = validate_patients(read_csv_strict(settings.DATA_SAMPLES_DIR / "patients.csv"),
                                 require_outcomes=True)
    sessions = validate_sessions(read_csv_strict(settings.DATA_SAMPLES_DIR / "sessions.csv"),
                                 known_patient_ids=patients["patient_id"])
    assert len(patients) == settings.SAMPLE_PATIENTS
    assert len(sessions) == patients["sessions_attended"].astype(int).sum()


def test_session_blood_pressure_stays_recordable_for_the_lowest_screening_values():
    """At 100,000 patients a low screening BP plus session noise gave a systolic 59 and a
    diastolic 29, which the session validator refuses (the cohort could not be trained on):
    every simulated value lies within what a session record accepts."""
    from training.generator.cohort_sessions import simulate_series
    from training.generator.settings import EffectSettings

    patients = generate_cohort(400, seed=3).patients.copy()
    low = next(f for f in FEATURES if f.name == "systolic_bp").min
    patients["systolic_bp"] = low
    patients["diastolic_bp"] = next(f for f in FEATURES if f.name == "diastolic_bp").min
    series = simulate_series(patients, np.random.default_rng(0), EffectSettings())
    for field in SESSION_FIELDS:
        if field.name in ("sbp_pre", "dbp_pre", "sbp_post", "dbp_post"):
            values = series[field.name]
            assert field.min <= np.nanmin(values) and np.nanmax(values) <= field.max, field.name
