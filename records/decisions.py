"""Clinicians' decisions: appended, never edited, each with the suggestion it answered."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from records.lookup import require_patient
from records.security.policy import ROLES
from records.tables.clinical import DECISIONS, Decision

log = logging.getLogger(__name__)


def record_decision(session: Session, patient_id: str, *, decision: str, suggested: str,
                    clinician: str, reason: str | None = None,
                    model_version: str | None = None, role: str | None = None) -> Decision:
    """Append a clinician's decision; a reason is required when it departs from the suggestion.

    The suggestion is what the eligibility screen and model proposed, so an override is
    always explained in the record. ``clinician`` and ``role`` are the signed-in user's
    (the dashboard passes its actor; nobody types a name). ``role`` is None only for
    decisions that predate revision 0004.
    """
    for label, value in (("decision", decision), ("suggested", suggested)):
        if value not in DECISIONS:
            raise ValueError(f"{label} must be one of {', '.join(DECISIONS)}, not {value!r}")
    clinician = (clinician or "").strip()
    if not clinician:
        raise ValueError("the deciding clinician must be named")
    if role is not None and role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    reason = (reason or "").strip() or None
    if decision != suggested and reason is None:
        raise ValueError(f"a reason is required when the decision ({decision}) differs from "
                         f"the suggestion ({suggested})")
    patient = require_patient(session, patient_id)
    record = Decision(patient=patient, decision=decision, suggested=suggested, reason=reason,
                      clinician=clinician, role=role, model_version=model_version)
    session.add(record)
    session.flush()
    log.info("decision %s for %s by %s (suggested %s)", decision, patient_id, clinician,
             suggested)
    return record


def decisions_for(session: Session, patient_id: str) -> list[Decision]:
    """The patient's decisions, oldest first."""
    patient = require_patient(session, patient_id)
    stmt = (select(Decision).where(Decision.patient_pk == patient.id)
            .order_by(Decision.created_at, Decision.id))
    return list(session.scalars(stmt))
