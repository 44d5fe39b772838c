"""Saving an imported patient through ``records.repository`` (all or nothing).

The store keeps complete patients only (every feature column is NOT NULL and
``add_patient`` refuses silent defaults), so an import with gaps is saved once the
clinician has entered the missing values (``completions``); until then nothing is written.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from interop.fhir_parse import FhirImportError
from interop.fhir_result import ImportResult, complete
from models import schema
from models.schema import ID_COLUMN, NAME_COLUMN

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from records.tables import Patient

log = logging.getLogger(__name__)


class IncompleteImportError(FhirImportError):
    """Inputs are still missing after the completions; nothing was saved."""

    def __init__(self, gaps: list[str]) -> None:
        self.gaps = gaps
        labels = ", ".join(f"{schema.feature(g).label} ({g})" for g in gaps)
        super().__init__(f"cannot save: {len(gaps)} input(s) were not in the FHIR data and "
                         f"have not been entered: {labels}. Nothing was saved.")


def import_into_store(session: Session, result: ImportResult, patient_id: str | None = None,
                      *, name: str | None = None, completions: Mapping[str, Any] | None = None,
                      is_synthetic: bool = False, commit: bool = True) -> Patient:
    """Save the imported patient (plus ``completions`` for its gaps) as one new patient.

    Raises ``IncompleteImportError`` while any input is missing, and the store's own
    errors (``InputValidationError``, ``DuplicateRecordError``) otherwise; in every error
    case nothing is saved. ``commit=False`` leaves the commit to the caller's unit of work.
    """
    from records import repository  # the store is optional for parsing-only callers

    completed = complete(result, completions or {})
    if completed.missing:
        raise IncompleteImportError(completed.missing)
    values = completed.patient
    display = name or result.name or (f"FHIR Patient/{result.fhir_patient_id}"
                                      if result.fhir_patient_id else None)
    if not display:
        raise ValueError("the imported data has no patient name; pass name=")
    data: dict[str, Any] = {**values, NAME_COLUMN: display, "is_synthetic": is_synthetic}
    if patient_id:
        data[ID_COLUMN] = patient_id
    try:
        patient = repository.add_patient(session, data)
        if commit:
            session.commit()
    except Exception:
        session.rollback()
        raise
    log.info("saved FHIR patient %s as %s (%d values from FHIR, %d entered)",
             result.fhir_patient_id, patient.patient_id, len(result.patient),
             len(values) - len(result.patient))
    return patient
