"""Honest evaluation (issue 14, part 1): the card says exactly which patients a version saw,
comparisons use only patients neither version trained or validated on, and the card's
calibration text says what the code does."""

from __future__ import annotations

import pytest

from dashboard.services.lab import versions as lab
from models.contract.schema import ID_COLUMN
from models.store.card_text import render_card_markdown
from training.data import load_dataset
from training.generator.generate import generate_cohort
from training.provenance import data_sha256, fingerprints, seen_fingerprints
from training.train import split_patients, train_model_set


def test_card_records_disjoint_splits_that_the_spec_reproduces(trained) -> None:
    record = trained.result.card["patients"]
    ids = record["ids"]
    train, valid, test = (set(ids[k]) for k in ("train", "valid", "test"))
    assert not (train & valid or train & test or valid & test)
    assert len(train) + len(valid) + len(test) == len(trained.cohort.patients)
    assert sorted(test) == sorted(trained.result.test_ids)
    patients = trained.cohort.patients.reset_index(drop=True)
    assert record["data_sha256"] == data_sha256(patients)
    spec = record["split"]
    again = split_patients(patients, spec["test_fraction"], spec["valid_fraction"], spec["seed"])
    for name, index in zip(("train", "valid", "test"), again, strict=True):
        assert patients.loc[index, ID_COLUMN].tolist() == ids[name]
    prints = fingerprints(patients)
    assert seen_fingerprints(trained.result.card) == set(
        prints[patients[ID_COLUMN].isin(train | valid)])


def test_fingerprints_tell_same_ids_in_other_cohorts_apart(trained) -> None:
    other = generate_cohort(200, seed=99).patients
    mine = trained.cohort.patients
    assert set(other[ID_COLUMN]) <= set(mine[ID_COLUMN])  # ids collide ...
    assert not set(fingerprints(other)) & set(fingerprints(mine))  # ... patients do not
    from_csv, _ = load_dataset(lab.DATA_SAMPLES_DIR)  # the sample cohort, via CSV
    assert (fingerprints(from_csv).to_numpy() == fingerprints(mine).to_numpy()).all()


def test_comparison_excludes_every_patient_either_version_saw(trained) -> None:
    card = trained.result.card
    comparison = lab.compare_versions(trained.model_set, card, trained.model_set, card,
                                      n_boot=20)
    assert comparison.n_pool == 2000
    assert comparison.n_unseen == len(trained.result.test_ids)  # only the held-out 400
    assert "400 of the 2,000 patients" in comparison.caption
    assert set(comparison.table["metric"]) == {"ROC AUC", "Brier"}
    assert (comparison.table["difference"] == 0).all()


def test_comparison_with_a_candidate_trained_on_the_evaluation_patients_is_refused(
        trained) -> None:
    samples, sessions = load_dataset(lab.DATA_SAMPLES_DIR)
    candidate = train_model_set(samples, sessions, seed=1, n_bootstrap=10)
    with pytest.raises(lab.ComparisonRefused, match="were seen by neither version"):
        lab.compare_versions(candidate.model_set, candidate.card, trained.model_set,
                             trained.result.card, n_boot=20)
    fresh = lab.comparison_pool("generated", 600, 7)
    comparison = lab.compare_versions(candidate.model_set, candidate.card, trained.model_set,
                                      trained.result.card, fresh, n_boot=20)
    assert comparison.n_unseen == comparison.n_pool == 600


def test_comparison_refuses_a_version_that_does_not_record_its_patients(trained) -> None:
    legacy = {k: v for k, v in trained.result.card.items() if k != "patients"}
    legacy["version"] = "old-1"
    with pytest.raises(ValueError, match="old-1 does not record which patients"):
        lab.compare_versions(trained.model_set, legacy, trained.model_set,
                             trained.result.card, n_boot=20)


def test_evaluation_data_is_the_versions_own_test_patients(trained) -> None:
    data = lab.evaluation_data(trained.model_set, trained.result.card)
    assert "own held-out test patients" in data.source
    assert all(len(y) == len(trained.result.test_ids) for y in data.y.values())
    test = trained.cohort.patients.set_index(ID_COLUMN, drop=False).loc[trained.result.test_ids]
    expected = trained.model_set.predict_proba(test)["response"].round(6).to_numpy()
    assert data.p["response"] == pytest.approx(expected)
    no_store = {**trained.result.card, "evaluation": {}}
    rescored = lab.evaluation_data(trained.model_set, no_store)  # same data: re-scored
    assert "re-scored from data_samples/" in rescored.source
    assert len(rescored.y["response"]) == len(test)
    elsewhere = {**no_store, "patients": {**no_store["patients"], "data_sha256": "0" * 64}}
    with pytest.raises(ValueError, match="cannot be re-scored"):
        lab.evaluation_data(trained.model_set, elsewhere)


def test_card_text_says_how_calibration_is_fitted(trained) -> None:
    card = trained.result.card
    text = card["models"]["calibration"]
    assert "5-fold out-of-fold margins" in text and "SD 0.15" in text
    markdown = render_card_markdown(card)
    assert "on the validation split" not in markdown
    assert "5-fold out-of-fold" in markdown
    assert f"{len(card['patients']['ids']['test'])} test patients" in markdown
    assert trained.result.test_ids[0] not in markdown  # ids stay in the JSON card

