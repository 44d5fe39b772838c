"""What the dashboard's service layer calls to read and write the clinical store.

Transactions: single-record writers (``add_patient``, ``update_patient``, ``add_session``,
``record_decision``) flush and return; the caller commits (one unit of work per user
action). ``import_patients_and_sessions`` and ``seed_from_samples`` own their transaction
(all or nothing). Decisions are append-only: nothing here updates or deletes one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from models.contract.schema import ID_COLUMN, NAME_COLUMN, defaults, feature_names
from models.contract.validation import validate_patients
from records.decisions import decisions_for, record_decision
from records.errors import DuplicateRecordError, StaleRecordError
from records.frames import patients_frame, sessions_frame
from records.gaps import gap_list
from records.imports.bulk import import_patients_and_sessions, seed_from_samples
from records.lookup import get_patient, require_patient
from records.rows import (
    FEATURE_TYPES,
    check_names,
    frame_records,
    raise_errors,
)
from records.tables.clinical import (
    PLAN_FIELDS,
    Patient,
    TreatmentPlan,
    TreatmentSession,
)
from records.treatment_sessions import add_session, update_session

log = logging.getLogger(__name__)

__all__ = [
    "add_patient", "add_session", "confirm_fields", "decisions_for", "get_patient",
    "import_patients_and_sessions", "list_patients", "next_patient_id", "patient_count",
    "patients_frame", "plans_for",
    "record_decision", "seed_from_samples", "sessions_for", "sessions_frame", "update_patient",
    "update_session",
]

ID_PREFIX, ID_DIGITS = "KAP-", 5
PATIENT_EDITABLE = frozenset([NAME_COLUMN, *feature_names()])


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_patients(session: Session, search: str | None = None,
                  limit: int | None = None) -> list[Patient]:
    """Patients ordered by patient_id; ``search`` matches id or name, case-insensitively."""
    stmt = select(Patient).order_by(Patient.patient_id)
    if search and search.strip():
        pattern = f"%{_escape_like(search.strip())}%"
        stmt = stmt.where(Patient.patient_id.ilike(pattern, escape="\\")
                          | Patient.name.ilike(pattern, escape="\\"))
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt))


def patient_count(session: Session) -> int:
    """How many patients the store holds."""
    return int(session.scalar(select(func.count()).select_from(Patient)) or 0)


def next_patient_id(session: Session) -> str:
    """The next free id in the KAP-00001 series."""
    pattern = ID_PREFIX + "_" * ID_DIGITS
    last = session.scalar(select(func.max(Patient.patient_id))
                          .where(Patient.patient_id.like(pattern)))
    number = int(last[len(ID_PREFIX):]) + 1 if last and last[len(ID_PREFIX):].isdigit() else 1
    return f"{ID_PREFIX}{number:0{ID_DIGITS}d}"


def _validated_patient(values: Mapping[str, Any], source: str) -> dict[str, Any]:
    """One patient's values checked by the project's validation layer, as Python values."""
    frame = pd.DataFrame([dict(values)])
    raise_errors(check_names(frame), source)
    typed = validate_patients(frame, source=source)
    row = frame_records(typed, FEATURE_TYPES)[0]
    row[NAME_COLUMN] = str(values[NAME_COLUMN]).strip()
    return row


def _plan(patient: Patient) -> TreatmentPlan:
    return TreatmentPlan(patient=patient, **{name: getattr(patient, name)
                                             for name in PLAN_FIELDS})


def add_patient(session: Session, data: Mapping[str, Any], *, gaps: Iterable[str] = (),
                import_source: Mapping[str, Any] | None = None) -> Patient:
    """Add a patient and its first plan; every feature not in ``gaps`` is required.

    A feature in ``gaps`` is stored as the schema-default placeholder (the columns are NOT
    NULL) and listed in ``data_gaps``, so it is shown as missing and never used to predict
    until the clinician fills it in: nothing is guessed silently. Without a ``patient_id``
    the next KAP-xxxxx id is used. Raises ``InputValidationError`` for invalid values and
    ``DuplicateRecordError`` for a taken id.
    """
    unknown = set(data) - PATIENT_EDITABLE - {ID_COLUMN, "is_synthetic"}
    if unknown:
        raise ValueError(f"unknown patient field(s): {', '.join(sorted(unknown))}")
    listed = gap_list(gaps)
    patient_id = str(data.get(ID_COLUMN) or "").strip() or next_patient_id(session)
    if get_patient(session, patient_id) is not None:
        raise DuplicateRecordError(f"patient {patient_id!r} already exists")
    placeholders = {name: value for name, value in defaults().items() if name in listed}
    values = _validated_patient({**data, **placeholders, ID_COLUMN: patient_id},
                                f"patient {patient_id}")
    patient = Patient(patient_id=patient_id, is_synthetic=bool(data.get("is_synthetic", False)),
                      data_gaps=listed,
                      import_source=dict(import_source) if import_source else None, **values)
    session.add(patient)
    session.add(_plan(patient))
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise DuplicateRecordError(f"patient {patient_id!r} could not be saved: "
                                   f"{exc.orig}") from exc
    log.info("added patient %s%s", patient_id,
             f" with {len(listed)} gap(s): {', '.join(listed)}" if listed else "")
    return patient


def update_patient(session: Session, patient_id: str, data: Mapping[str, Any],
                   expected_version: int, *, confirmed: Iterable[str] = ()) -> Patient:
    """Change a patient's name/features, refusing if it changed since ``expected_version``.

    A gap is filled (removed from ``data_gaps``) when its value is changed from the
    placeholder or the field is in ``confirmed`` (the placeholder value is in fact right);
    forms send every field, so an untouched placeholder must not count as entered. A
    changed treatment plan is also appended to the plan history.
    """
    confirmed_set = set(gap_list(confirmed))
    unknown = set(data) - PATIENT_EDITABLE
    if unknown:
        raise ValueError(f"these patient fields cannot be changed: {', '.join(sorted(unknown))}")
    patient = require_patient(session, patient_id)
    stale = (f"patient {patient_id} was changed by someone else since you opened it (you had "
             f"version {expected_version}, the store has version {{}}); reload the patient, "
             "re-apply your changes and save again")
    if patient.version != expected_version:
        raise StaleRecordError(stale.format(patient.version))
    current = {NAME_COLUMN: patient.name, **patient.features()}
    values = _validated_patient({**current, **data, ID_COLUMN: patient_id},
                                f"patient {patient_id}")
    changed = {k: v for k, v in values.items() if current[k] != v}
    for key, value in changed.items():
        setattr(patient, key, value)
    filled = set(patient.data_gaps or []) & (set(changed) | confirmed_set)
    if filled:
        patient.data_gaps = [g for g in patient.data_gaps if g not in filled]
        log.info("patient %s: gap(s) filled: %s", patient_id, ", ".join(sorted(filled)))
    if changed.keys() & set(PLAN_FIELDS):
        session.add(_plan(patient))
    try:
        session.flush()
    except StaleDataError as exc:  # saved by someone else between our read and write
        session.rollback()
        raise StaleRecordError(stale.format("newer")) from exc
    log.info("updated patient %s (%s) to version %s", patient_id,
             ", ".join(sorted(changed)) or "no changes", patient.version)
    return patient


def confirm_fields(session: Session, patient_id: str, fields: Iterable[str],
                   expected_version: int) -> Patient:
    """Mark gap fields as confirmed: the clinician checked that the stored value is right."""
    return update_patient(session, patient_id, {}, expected_version, confirmed=fields)


def plans_for(session: Session, patient_id: str) -> list[TreatmentPlan]:
    """The patient's treatment plans, oldest first (the last one is the current plan)."""
    patient = require_patient(session, patient_id)
    stmt = (select(TreatmentPlan).where(TreatmentPlan.patient_pk == patient.id)
            .order_by(TreatmentPlan.id))
    return list(session.scalars(stmt))


def sessions_for(session: Session, patient_id: str) -> list[TreatmentSession]:
    """The patient's sessions in session order."""
    patient = require_patient(session, patient_id)
    stmt = (select(TreatmentSession).where(TreatmentSession.patient_pk == patient.id)
            .order_by(TreatmentSession.session_number))
    return list(session.scalars(stmt))
