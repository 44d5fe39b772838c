"""FHIR upload on the Data entry page: parse, describe, save with gaps (no Streamlit here).

Issue 7: a missing input is never guessed. The upload is described (found / missing /
warnings), then saved with its gaps listed; predictions stay hidden until the clinician
fills every model input in the edit form.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

from dashboard.services.access import record_failure, require
from dashboard.services.entry.form_errors import FormErrors
from dashboard.services.workspace import Workspace
from interop.fhir.importer.result import (
    ImportResult,
    blocking_fields,
    item9_text,
    screen_blocking_fields,
    suicide_alert,
)
from interop.notify.urgent import UrgentAlert, push_urgent
from models.contract.validation import InputValidationError
from records.audit import trail as audit
from records.db import session_factory
from records.errors import RecordError
from records.gaps import labels
from records.repository import confirm_fields, get_patient
from records.security.policy import IDENTIFIED
from records.submissions import submit_once
from records.tables.clinical import utcnow

log = logging.getLogger(__name__)
MAX_UPLOAD_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class SavedImport:
    """One saved patient and the gaps the clinician still has to fill in."""

    patient_id: str
    name: str
    gaps: list[str]
    blocking: list[str]


def source_format(file_name: str) -> str:
    """The import_source format of an uploaded file."""
    return "FHIR R4 NDJSON" if file_name.lower().endswith(".ndjson") else "FHIR R4"


def parse_upload(file_name: str, data: bytes) -> list[ImportResult]:
    """Every patient in an uploaded FHIR file (Bundle, resource or NDJSON, told by content).

    Raises ``FhirImportError`` (a ``ValueError``) with the parser's message for bad input.
    """
    from interop.fhir.importer.batch import import_fhir

    if len(data) > MAX_UPLOAD_BYTES:
        raise ValueError(f"the file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
    report = import_fhir(data, source=file_name)  # format told by content
    results = report.results
    if not results and report.refused:  # issue 25: deceased patients are not candidates
        raise ValueError("; ".join(line for line in report.lines() if "deceased" in line))
    if not results:
        raise ValueError("the file holds no Patient resource")
    for refused in report.refused:  # shown with the first patient's warnings
        results[0].warnings.append(f"{refused.name or refused.fhir_patient_id}: recorded as "
                                   "deceased; not imported")
    log.info("parsed %s: %d patient(s)", file_name, len(results))
    return results


def describe(result: ImportResult) -> dict[str, str | int]:
    """One row of the upload summary a clinician reads before saving."""
    return {"patient": result.name or f"Patient/{result.fhir_patient_id}",
            "found": len(result.found), "missing": labels(result.missing) or "-",
            "predictions need": labels(blocking_fields(result)) or "-",
            "screen needs": labels(screen_blocking_fields(result)) or "-",
            "PHQ-9 item 9": item9_text(result) or "-",
            "alerts": "suicide risk" if suicide_alert(result) else "-",
            "warnings": len(result.warnings)}


def save_imports(ws: Workspace, results: list[ImportResult], file_name: str, *,
                 token: str | None = None, digest: str = "") -> list[SavedImport]:
    """Save every uploaded patient with its gaps in one transaction (all or nothing).

    ``token`` (the upload panel's submission token) with ``digest`` (the file's SHA-256):
    a repeat stores nothing again and returns what the first save stored.
    """
    from interop.fhir.importer.store import import_into_store

    actor = require(ws, IDENTIFIED)  # clinicians only; refused before anything is saved
    try:
        with session_factory(ws.engine)() as session:
            written: list[int] = []  # write() runs only for a new submission

            def write() -> list[dict]:
                written.append(1)
                saved = [import_into_store(session, r, commit=False,
                                           source_format=source_format(file_name))
                         for r in results]
                items = [SavedImport(p.patient_id, p.name, list(p.data_gaps),
                                     blocking_fields(r))
                         for p, r in zip(saved, results, strict=True)]
                for item, result in zip(items, results, strict=True):  # audited with it
                    alert = suicide_alert(result)
                    audit.record(session, actor, "import", IDENTIFIED,
                                 patient_id=item.patient_id,
                                 detail=f"FHIR {file_name}; gaps: "
                                        f"{', '.join(item.gaps) or 'none'}"
                                        + (f"; alert shown: {alert}" if alert else ""))
                return [asdict(item) for item in items]

            done = submit_once(session, token, "fhir_import",
                               {"file": file_name, "sha256": digest}, write,
                               username=actor.username)
            out = [SavedImport(**item) for item in done.result]
            session.commit()
    except InputValidationError as error:
        record_failure(ws, "import", IDENTIFIED, None, error)
        raise FormErrors.from_validation(error) from error
    except (RecordError, ValueError) as error:
        record_failure(ws, "import", IDENTIFIED, None, error)
        raise FormErrors.general(f"Nothing was saved: {error}") from error
    log.info("saved %d FHIR patient(s) from %s", len(out), file_name)
    for item, result in zip(out, results, strict=True):
        alert = suicide_alert(result) if written else None
        if alert:  # stored and shown on the page; on-call is told too (HAZ-009)
            push_urgent(ws.engine, actor, UrgentAlert(item.patient_id,
                                                      f"FHIR import ({file_name})", alert,
                                                      utcnow()))
    return out


def open_gaps(ws: Workspace, patient_id: str) -> tuple[list[str], int]:
    """A stored patient's open gaps and its version (for confirming placeholders)."""
    with session_factory(ws.engine)() as session:
        patient = get_patient(session, patient_id)
        if patient is None:
            return [], 0
        return list(patient.data_gaps or []), int(patient.version)


def confirm(ws: Workspace, patient_id: str, fields: list[str], expected_version: int, *,
            token: str | None = None) -> int:
    """The clinician confirms stored values of gap fields; returns the new version (once
    per submission ``token``)."""
    actor = require(ws, IDENTIFIED)
    try:
        with session_factory(ws.engine)() as session:
            def write() -> int:
                patient = confirm_fields(session, patient_id, fields, expected_version)
                audit.record(session, actor, "patient_edit", IDENTIFIED,
                             patient_id=patient_id,
                             detail=f"confirmed stored values: {', '.join(fields)}")
                return int(patient.version)

            done = submit_once(session, token, "gap_confirm",
                               {"patient_id": patient_id, "fields": sorted(fields),
                                "base": expected_version}, write, username=actor.username)
            session.commit()
            return int(done.result)
    except (RecordError, ValueError) as error:
        record_failure(ws, "patient_edit", IDENTIFIED, patient_id, error)
        raise FormErrors.general(str(error)) from error
