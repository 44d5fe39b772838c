"""Saving an import: all or nothing, gaps filled by the clinician, nothing guessed."""

from __future__ import annotations

import pytest
from fhir_builders import COMPLETIONS, REF_DATE, bundle, full_record
from sqlalchemy.orm import Session

from interop.fhir_import import IncompleteImportError, import_bundle, import_into_store
from models.validation import InputValidationError
from records import DuplicateRecordError, repository


@pytest.fixture
def result():
    return import_bundle(bundle(full_record()), reference_date=REF_DATE)


def test_incomplete_import_is_refused_and_nothing_saved(db: Session, result):
    with pytest.raises(IncompleteImportError) as info:
        import_into_store(db, result)
    assert set(info.value.gaps) == set(result.missing)
    assert "Nothing was saved" in str(info.value)
    assert repository.patient_count(db) == 0
    partial = dict(list(COMPLETIONS.items())[:5])
    with pytest.raises(IncompleteImportError):
        import_into_store(db, result, completions=partial)
    assert repository.patient_count(db) == 0


def test_completed_import_is_saved_with_fhir_values(db: Session, result):
    patient = import_into_store(db, result, completions=COMPLETIONS)
    stored = repository.get_patient(db, patient.patient_id)
    assert stored is not None and stored.name == "Alex Synthetic"
    features = stored.features()
    for name, value in result.patient.items():
        assert features[name] == value
    assert features["route"] == "iv" and patient.patient_id == "KAP-00001"


def test_given_patient_id_and_duplicate_refused(db: Session, result):
    import_into_store(db, result, "KAP-00042", completions=COMPLETIONS)
    with pytest.raises(DuplicateRecordError):
        import_into_store(db, result, "KAP-00042", completions=COMPLETIONS)
    assert repository.patient_count(db) == 1


def test_invalid_completion_is_refused_and_nothing_saved(db: Session, result):
    with pytest.raises(InputValidationError):
        import_into_store(db, result, completions={**COMPLETIONS, "route": "rectal"})
    with pytest.raises(ValueError, match="unknown feature"):
        import_into_store(db, result, completions={**COMPLETIONS, "shoe_size": 9})
    assert repository.patient_count(db) == 0


def test_commit_false_leaves_the_unit_of_work_to_the_caller(db: Session, result):
    import_into_store(db, result, completions=COMPLETIONS, commit=False)
    db.rollback()
    assert repository.patient_count(db) == 0
