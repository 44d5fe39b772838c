"""Writes from the dashboard: patients, sessions, decisions and CSV imports (no Streamlit).

Each function is one unit of work (commit or nothing) and turns the store's and the
validation layer's exceptions into ``FormErrors`` keyed by field, so a page can show each
message next to the field or file row it is about.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from dashboard.services import Workspace
from models.schema import ID_COLUMN
from models.validation import (
    InputValidationError,
    RowError,
    read_csv_strict,
    validate_patients,
)
from records.db import session_factory
from records.errors import (
    DuplicateRecordError,
    RecordError,
    RecordNotFoundError,
    StaleRecordError,
)
from records.repository import (
    add_patient,
    add_session,
    get_patient,
    import_patients_and_sessions,
    record_decision,
    update_patient,
)
from records.rows import check_names

log = logging.getLogger(__name__)

GENERAL = "_general"  # FormErrors key for problems that belong to no single field


class FormErrors(Exception):
    """Validation problems of one form, grouped by field name (``GENERAL`` for the rest)."""

    def __init__(self, by_field: Mapping[str, list[str]]) -> None:
        self.by_field = {k: list(v) for k, v in by_field.items() if v}
        super().__init__("; ".join(f"{k}: {m}" for k, ms in self.by_field.items() for m in ms))

    @classmethod
    def general(cls, message: str) -> FormErrors:
        return cls({GENERAL: [message]})

    @classmethod
    def from_validation(cls, error: InputValidationError) -> FormErrors:
        grouped: dict[str, list[str]] = {}
        for item in error.errors:
            grouped.setdefault(item.column or GENERAL, []).append(item.message)
        return cls(grouped)


class StaleEditError(Exception):
    """Someone else saved the patient after this form was opened."""


def save_session(ws: Workspace, patient_id: str, values: Mapping[str, Any]) -> int:
    """Validate and store one attended session; returns its session number."""
    try:
        with session_factory(ws.engine)() as session:
            record = add_session(session, patient_id, dict(values))
            session.commit()
            return int(record.session_number)
    except InputValidationError as error:
        raise FormErrors.from_validation(error) from error
    except DuplicateRecordError as error:
        raise FormErrors({"session_number": [str(error)]}) from error
    except (RecordNotFoundError, ValueError) as error:
        raise FormErrors.general(str(error)) from error


def save_decision(ws: Workspace, patient_id: str, *, decision: str, suggested: str,
                  clinician: str, reason: str = "") -> None:
    """Append a decision; refused (``FormErrors`` on ``reason``) if it departs unexplained."""
    if decision != suggested and not reason.strip():
        raise FormErrors({"reason": ["A reason is required when the decision differs from the "
                                     "suggestion."]})
    if not clinician.strip():
        raise FormErrors({"clinician": ["Name the deciding clinician."]})
    try:
        with session_factory(ws.engine)() as session:
            record_decision(session, patient_id, decision=decision, suggested=suggested,
                            clinician=clinician, reason=reason, model_version=ws.version)
            session.commit()
    except (RecordError, ValueError) as error:
        raise FormErrors.general(str(error)) from error


def _precheck_patient(values: Mapping[str, Any]) -> None:
    """Collect name and schema problems together (the store stops at the first kind)."""
    frame = pd.DataFrame([{**values, ID_COLUMN: values.get(ID_COLUMN) or "new"}])
    errors = check_names(frame)
    try:
        validate_patients(frame, source="form")
    except InputValidationError as error:
        errors += error.errors
    if errors:
        raise FormErrors.from_validation(InputValidationError(errors, "form"))


def create_patient(ws: Workspace, values: Mapping[str, Any]) -> str:
    """Add a patient (next free id unless one is given); returns the id."""
    _precheck_patient(values)
    try:
        with session_factory(ws.engine)() as session:
            patient = add_patient(session, dict(values))
            session.commit()
            return patient.patient_id
    except InputValidationError as error:
        raise FormErrors.from_validation(error) from error
    except DuplicateRecordError as error:
        raise FormErrors({ID_COLUMN: [str(error)]}) from error
    except ValueError as error:
        raise FormErrors.general(str(error)) from error


def load_for_edit(ws: Workspace, patient_id: str) -> tuple[dict[str, Any], int]:
    """The stored name and features of a patient and the version the edit is based on."""
    with session_factory(ws.engine)() as session:
        patient = get_patient(session, patient_id)
        if patient is None:
            raise RecordNotFoundError(f"no patient {patient_id!r} in the store")
        return {"name": patient.name, **patient.features()}, int(patient.version)


def save_patient(ws: Workspace, patient_id: str, values: Mapping[str, Any],
                 expected_version: int) -> int:
    """Save an edit made on ``expected_version``; returns the new version.

    Raises ``StaleEditError`` when someone else saved first (nothing is overwritten).
    """
    _precheck_patient({ID_COLUMN: patient_id, **values})
    try:
        with session_factory(ws.engine)() as session:
            patient = update_patient(session, patient_id, dict(values), expected_version)
            session.commit()
            return int(patient.version)
    except StaleRecordError as error:
        raise StaleEditError(str(error)) from error
    except InputValidationError as error:
        raise FormErrors.from_validation(error) from error
    except (RecordNotFoundError, ValueError) as error:
        raise FormErrors.general(str(error)) from error


@dataclass
class ImportOutcome:
    """Either what was saved, or every problem found (and nothing saved)."""

    patients: int = 0
    sessions: int = 0
    errors: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def ok(self) -> bool:
        return self.errors.empty


ERROR_COLUMNS = ["file", "row", "column", "problem"]


def _error_table(errors: list[RowError], source: str) -> pd.DataFrame:
    return pd.DataFrame([{"file": source, "row": e.row, "column": e.column or "",
                          "problem": e.message} for e in errors], columns=ERROR_COLUMNS)


def import_csv(ws: Workspace, patients: tuple[str, bytes] | None,
               sessions: tuple[str, bytes] | None) -> ImportOutcome:
    """Import uploaded ``(file name, bytes)`` CSVs all-or-nothing, with a row-by-row report."""
    if patients is None and sessions is None:
        return ImportOutcome(errors=_error_table(
            [RowError(None, None, "upload a patients file, a sessions file or both")], ""))
    frames: dict[str, pd.DataFrame] = {}
    problems: list[pd.DataFrame] = []
    with tempfile.TemporaryDirectory(prefix="kapcds-import-") as folder:
        for key, upload in (("patients", patients), ("sessions", sessions)):
            if upload is None:
                continue
            name, data = upload
            path = Path(folder) / (Path(name).name or f"{key}.csv")
            path.write_bytes(data)
            try:
                frames[key] = read_csv_strict(path)
            except InputValidationError as error:
                problems.append(_error_table(error.errors, path.name))
    if problems:
        return ImportOutcome(errors=pd.concat(problems, ignore_index=True))
    patients_df = frames.get("patients", pd.DataFrame(columns=[ID_COLUMN]))
    try:
        with session_factory(ws.engine)() as session:
            summary = import_patients_and_sessions(session, patients_df, frames.get("sessions"))
    except InputValidationError as error:
        return ImportOutcome(errors=_error_table(error.errors, error.source or ""))
    except RecordError as error:
        return ImportOutcome(errors=_error_table([RowError(None, None, str(error))], ""))
    log.info("dashboard import: %d patients, %d sessions", summary.patients, summary.sessions)
    return ImportOutcome(patients=summary.patients, sessions=summary.sessions)
