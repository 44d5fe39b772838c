"""The PHQ-9 band covers what it claims, and the OOD detector flags what it should."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.contract.schema import defaults
from models.learners.estimators import session_frame
from models.learners.ood import OODDetector


@pytest.fixture(scope="module")
def held_out_band(trained) -> tuple[pd.DataFrame, np.ndarray]:
    holdout = trained.holdout
    patients = holdout.patients.iloc[:4000]
    sessions = holdout.sessions[holdout.sessions["patient_id"].isin(patients["patient_id"])]
    rows = session_frame(patients, sessions)
    band = trained.model_set.trajectory.predict_quantiles(rows)
    return band, sessions.loc[rows.index, "phq9"].to_numpy(dtype=float)


def test_band_is_ordered_and_in_range(held_out_band) -> None:
    band, _ = held_out_band
    assert (band["q10"] <= band["q50"]).all() and (band["q50"] <= band["q90"]).all()
    assert band.min().min() >= 0 and band.max().max() <= 27


def test_band_covers_about_80_percent_of_fresh_patients(held_out_band) -> None:
    band, phq9 = held_out_band
    inside = (phq9 >= band["q10"].to_numpy()) & (phq9 <= band["q90"].to_numpy())
    assert 0.72 <= inside.mean() <= 0.88
    below, above = (phq9 < band["q10"]).mean(), (phq9 > band["q90"]).mean()
    assert abs(below - above) < 0.06  # misses split roughly evenly
    assert abs((phq9 <= band["q50"].to_numpy()).mean() - 0.5) < 0.1


def test_predict_band_for_one_patient(trained) -> None:
    patient = trained.test_patients.iloc[[0]]
    band = trained.model_set.trajectory.predict_band(patient, 6)
    assert list(band.columns) == ["session_number", "q10", "q50", "q90"]
    assert band["session_number"].tolist() == [1, 2, 3, 4, 5, 6]
    assert (band["q10"] <= band["q50"]).all() and (band["q50"] <= band["q90"]).all()
    # symptoms are expected to improve over the series, on average
    assert band["q50"].iloc[-1] < band["q50"].iloc[0]
    with pytest.raises(ValueError, match="one patient"):
        trained.model_set.trajectory.predict_band(trained.test_patients.iloc[:2], 6)


def test_out_of_range_bmi_is_flagged_with_a_sentence(trained) -> None:
    ood: OODDetector = trained.model_set.ood
    patient = trained.test_patients.iloc[0].copy()
    lo, hi = ood.ranges_["bmi"]
    patient["bmi"] = 58.0
    assert hi < 58.0
    flags = ood.flags(patient.to_frame().T)
    assert flags["ood_features"].iloc[0] == "bmi"
    assert bool(flags["ood_overall"].iloc[0])
    [sentence, *_] = ood.explain_flags(patient)
    assert sentence.startswith("Body-mass index 58 kg/m² is above the training range ")
    assert "kg/m²; the model extrapolates here" in sentence
    assert f"{lo:g}" in sentence


def test_typical_patient_is_not_flagged(trained) -> None:
    ood: OODDetector = trained.model_set.ood
    patients = trained.test_patients
    flags = ood.flags(patients)
    assert flags.index.equals(patients.index)
    median_row = patients.iloc[[int(np.argmin(flags["ood_distance"]))]]
    assert not ood.flags(median_row)["ood_overall"].iloc[0]
    assert ood.explain_flags(median_row.iloc[0]) == []
    # fresh patients from the same population are rarely flagged
    assert flags["ood_overall"].mean() < 0.05


def test_unusual_combination_is_flagged_by_distance(trained) -> None:
    ood: OODDetector = trained.model_set.ood
    patient = trained.test_patients.iloc[0].copy()
    for i, (name, (lo, hi)) in enumerate(ood.ranges_.items()):  # alternate extremes
        patient[name] = hi if i % 2 else lo
    flags = ood.flags(patient.to_frame().T)
    assert flags["ood_features"].iloc[0] == ""
    assert flags["ood_distance"].iloc[0] > ood.threshold_
    assert flags["ood_overall"].iloc[0]
    assert any("unusual" in s for s in ood.explain_flags(patient))


def test_unseen_category_is_flagged() -> None:
    base = pd.DataFrame([defaults()] * 100)
    base["route"] = ["iv", "im"] * 50
    base["bmi"] = np.linspace(20, 35, 100)
    ood = OODDetector().fit(base)
    patient = base.iloc[0].copy()
    patient["route"] = "oral_sublingual"
    assert ood.flags(patient.to_frame().T)["ood_features"].iloc[0] == "route"
    [sentence] = [s for s in ood.explain_flags(patient) if "did not occur" in s]
    assert "oral/sublingual ketamine" in sentence
