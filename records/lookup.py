"""Finding a stored patient by id (every write and read of one patient starts here)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from records.errors import RecordNotFoundError
from records.tables.clinical import Patient


def get_patient(session: Session, patient_id: str) -> Patient | None:
    """The patient with this id as stored now (None if unknown)."""
    stmt = (select(Patient).where(Patient.patient_id == patient_id)
            .execution_options(populate_existing=True))
    return session.scalars(stmt).one_or_none()


def require_patient(session: Session, patient_id: str) -> Patient:
    """The stored patient, or ``RecordNotFoundError`` naming the unknown id."""
    patient = get_patient(session, patient_id)
    if patient is None:
        raise RecordNotFoundError(f"no patient {patient_id!r} in the store")
    return patient
