"""Saving an import: one transaction, gaps saved and listed (issue 7), nothing guessed."""

from __future__ import annotations

from dataclasses import replace

import pytest
from fhir_builders import COMPLETIONS, REF_DATE, bundle, full_record
from sqlalchemy.orm import Session

from interop.fhir.importer.patient import IncompleteImportError, import_bundle, import_into_store
from interop.fhir.importer.store import ExistingPatientError
from models.contract.schema import defaults
from models.contract.validation import InputValidationError
from records import DuplicateRecordError, repository


@pytest.fixture
def result():
    return import_bundle(bundle(full_record()), reference_date=REF_DATE)


def test_import_with_gaps_is_saved_with_the_gaps_listed(db: Session, result):
    assert result.missing
    patient = import_into_store(db, result)
    stored = repository.get_patient(db, patient.patient_id)
    assert stored is not None and stored.data_gaps == result.missing
    features = stored.features()
    for name in result.missing:  # a placeholder, listed as a gap, never a guess
        assert features[name] == defaults()[name]
    for name, value in result.patient.items():
        assert features[name] == value
    source = stored.import_source
    assert source is not None and source["fhir_patient_id"] == result.fhir_patient_id
    assert source["source_ids"] == result.source_ids and source["warnings"] == result.warnings
    assert source["format"] and source["imported_at"]


def test_completions_fill_some_gaps_and_the_rest_stay_listed(db: Session, result):
    partial = dict(list(COMPLETIONS.items())[:5])
    patient = import_into_store(db, result, completions=partial)
    assert patient.data_gaps == [n for n in result.missing if n not in partial]


def test_complete_only_mode_refuses_gaps_and_saves_nothing(db: Session, result):
    with pytest.raises(IncompleteImportError) as info:
        import_into_store(db, result, allow_gaps=False)
    assert set(info.value.gaps) == set(result.missing)
    assert "Nothing was saved" in str(info.value)
    assert repository.patient_count(db) == 0


def test_completed_import_is_saved_with_fhir_values(db: Session, result):
    patient = import_into_store(db, result, completions=COMPLETIONS)
    stored = repository.get_patient(db, patient.patient_id)
    assert stored is not None and stored.name == "Alex Synthetic"
    features = stored.features()
    for name, value in result.patient.items():
        assert features[name] == value
    assert features["route"] == "iv" and patient.patient_id == "KAP-00001"
    assert stored.data_gaps == []


def test_given_patient_id_and_duplicate_refused(db: Session, result):
    import_into_store(db, result, "KAP-00042", completions=COMPLETIONS)
    with pytest.raises(ExistingPatientError, match="already stored as KAP-00042"):
        import_into_store(db, result, "KAP-00042", completions=COMPLETIONS)
    other = replace(result, fhir_patient_id="someone-else", identifiers=[])
    with pytest.raises(DuplicateRecordError):  # another FHIR patient, a taken local id
        import_into_store(db, other, "KAP-00042", completions=COMPLETIONS)
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
