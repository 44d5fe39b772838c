"""Patients saved with gaps (issue 7): placeholders listed, never used, filled on save."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.orm import Session

from models.contract.schema import defaults, model_feature_names
from records import repository as repo
from records.errors import StaleRecordError
from records.gaps import prediction_blockers, screen_blockers

Row = Callable[..., dict[str, Any]]
SOURCE = {"format": "fhir-r4-bundle", "fhir_patient_id": "p1", "source_ids": ["Patient/p1"],
          "warnings": ["no BMI"], "imported_at": "2026-11-25T17:00:00+00:00"}


def _without(row: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in names}


def test_patient_with_gaps_is_saved_with_placeholders_and_the_list(db: Session,
                                                                    make_patient: Row) -> None:
    row = _without(make_patient(1, age=50), "bmi", "phq9_baseline")
    patient = repo.add_patient(db, row, gaps=["phq9_baseline", "bmi"], import_source=SOURCE)
    db.commit()
    stored = repo.get_patient(db, "KAP-00001")
    assert stored is not None
    assert stored.data_gaps == ["bmi", "phq9_baseline"]  # schema order
    assert stored.bmi == defaults()["bmi"] and stored.phq9_baseline == defaults()["phq9_baseline"]
    assert stored.import_source == SOURCE and patient.age == 50


def test_a_gap_value_given_anyway_is_replaced_by_the_placeholder(db: Session,
                                                                 make_patient: Row) -> None:
    repo.add_patient(db, make_patient(1, bmi=40.0), gaps=["bmi"])
    db.commit()
    stored = repo.get_patient(db, "KAP-00001")
    assert stored is not None and stored.bmi == defaults()["bmi"]


def test_complete_patients_have_no_gaps_and_unknown_gaps_are_refused(
        db: Session, make_patient: Row) -> None:
    assert repo.add_patient(db, make_patient(1)).data_gaps == []
    assert repo.get_patient(db, "KAP-00001").import_source is None  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="unknown gap"):
        repo.add_patient(db, make_patient(2), gaps=["shoe_size"])


def test_saving_a_changed_gap_field_removes_it_from_the_list(db: Session,
                                                             make_patient: Row) -> None:
    repo.add_patient(db, make_patient(1), gaps=["bmi", "phq9_baseline"])
    db.commit()
    # a form sends every field: the untouched placeholder must stay a gap
    updated = repo.update_patient(db, "KAP-00001", {**defaults(), "bmi": 27.5},
                                  expected_version=1)
    db.commit()
    assert updated.data_gaps == ["phq9_baseline"] and updated.version == 2
    stored = repo.get_patient(db, "KAP-00001")
    assert stored is not None and stored.data_gaps == ["phq9_baseline"]


def test_confirming_a_placeholder_fills_the_gap(db: Session, make_patient: Row) -> None:
    repo.add_patient(db, make_patient(1), gaps=["bmi", "phq9_baseline"])
    db.commit()
    with pytest.raises(StaleRecordError):
        repo.confirm_fields(db, "KAP-00001", ["bmi"], expected_version=7)
    db.rollback()
    confirmed = repo.confirm_fields(db, "KAP-00001", ["bmi", "phq9_baseline"],
                                    expected_version=1)
    db.commit()
    assert confirmed.data_gaps == [] and confirmed.version == 2
    with pytest.raises(ValueError, match="unknown gap"):
        repo.confirm_fields(db, "KAP-00001", ["nope"], expected_version=2)


def test_patients_frame_lists_gaps_and_can_leave_out_blocked_patients(
        db: Session, make_patient: Row) -> None:
    blocking = model_feature_names()[0]
    non_model = [n for n in defaults() if n not in model_feature_names()]
    repo.add_patient(db, make_patient(1), gaps=[blocking])
    repo.add_patient(db, make_patient(2))
    if non_model:
        repo.add_patient(db, make_patient(3), gaps=[non_model[0]])
    db.commit()
    frame = repo.patients_frame(db)
    assert frame["data_gaps"].tolist()[:2] == [[blocking], []]
    kept = repo.patients_frame(db, predictable_only=True)["patient_id"].tolist()
    assert "KAP-00001" not in kept and "KAP-00002" in kept
    assert ("KAP-00003" in kept) == bool(non_model)


def test_blockers() -> None:
    assert prediction_blockers(["bmi", "name_unknown"]) == (
        ["bmi"] if "bmi" in model_feature_names() else [])
    assert screen_blockers([]) == []
