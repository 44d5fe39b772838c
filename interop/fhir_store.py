"""Saving an imported patient through ``records.repository`` (one transaction).

Issue 7: a missing input is never guessed silently. An import with gaps is saved with the
gaps listed (``patients.data_gaps``; the column holds only a placeholder that is never
used to predict) and where it came from (``patients.import_source``); the clinician fills
the gaps later, or now via ``completions``. Predictions stay hidden until every model
input is filled in.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from interop.fhir_parse import FhirImportError
from interop.fhir_result import ImportResult, complete
from models import schema
from models.schema import ID_COLUMN, NAME_COLUMN

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from records.tables import Patient

log = logging.getLogger(__name__)
DEFAULT_FORMAT = "FHIR R4"


class IncompleteImportError(FhirImportError):
    """Inputs are still missing and the caller asked for complete patients only."""

    def __init__(self, gaps: list[str]) -> None:
        self.gaps = gaps
        labels = ", ".join(f"{schema.feature(g).label} ({g})" for g in gaps)
        super().__init__(f"cannot save: {len(gaps)} input(s) were not in the FHIR data and "
                         f"have not been entered: {labels}. Nothing was saved.")


def import_source(result: ImportResult, source_format: str = DEFAULT_FORMAT) -> dict[str, Any]:
    """What ``patients.import_source`` records: format, FHIR id, source ids, warnings, time."""
    return {"format": source_format, "fhir_patient_id": result.fhir_patient_id,
            "source_ids": list(result.source_ids), "warnings": list(result.warnings),
            "imported_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def import_into_store(session: Session, result: ImportResult, patient_id: str | None = None,
                      *, name: str | None = None, completions: Mapping[str, Any] | None = None,
                      is_synthetic: bool = False, commit: bool = True,
                      allow_gaps: bool = True,
                      source_format: str = DEFAULT_FORMAT) -> Patient:
    """Save the imported patient (plus ``completions`` for its gaps) as one new patient.

    Inputs still missing after ``completions`` are saved as gaps (``patient.data_gaps``);
    with ``allow_gaps=False`` they raise ``IncompleteImportError`` instead. The store's own
    errors (``InputValidationError``, ``DuplicateRecordError``) propagate; in every error
    case nothing is saved. ``commit=False`` leaves the commit to the caller's unit of work.
    """
    from records import repository  # the store is optional for parsing-only callers

    completed = complete(result, completions or {})
    if completed.missing and not allow_gaps:
        raise IncompleteImportError(completed.missing)
    display = name or result.name or (f"FHIR Patient/{result.fhir_patient_id}"
                                      if result.fhir_patient_id else None)
    if not display:
        raise ValueError("the imported data has no patient name; pass name=")
    data: dict[str, Any] = {**completed.patient, NAME_COLUMN: display,
                            "is_synthetic": is_synthetic}
    if patient_id:
        data[ID_COLUMN] = patient_id
    try:
        patient = repository.add_patient(session, data, gaps=completed.missing,
                                         import_source=import_source(result, source_format))
        if commit:
            session.commit()
    except Exception:
        session.rollback()
        raise
    log.info("saved FHIR patient %s as %s (%d values from FHIR, %d entered, %d gaps)",
             result.fhir_patient_id, patient.patient_id, len(result.patient),
             len(completed.patient) - len(result.patient), len(completed.missing))
    return patient
