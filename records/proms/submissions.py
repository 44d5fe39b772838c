"""Storing what a patient answered through a link, and raising the urgent alert.

One transaction: the link is claimed (single use, race-safe), the checked answers are
stored with the time answered, a PHQ-9 or GAD-7 answered after the series is also stored
as a follow-up visit marked ``source = 'patient'`` (what staff entry creates, so relapse
and the durability view use it), an urgent finding becomes an alert to the clinician, and
the submission is audited. Answers that fail the check store nothing and leave the link
usable, so the patient can correct them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.clinical.prom_alerts import UrgentFinding, urgent_finding
from models.clinical.prom_instruments import instrument as find_instrument
from models.clinical.prom_scoring import check_answers
from models.contract.input_errors import InputValidationError
from records.audit import trail
from records.followup.record import add_visit
from records.proms.invitations import claim, usable
from records.security.policy import IDENTIFIED, Actor
from records.tables.clinical import Patient, TreatmentSession, utcnow
from records.tables.proms import PromAlert, PromSubmission

log = logging.getLogger(__name__)

PATIENT_ACTOR = Actor("patient (questionnaire link)", None)
VISIT_MEASURE = {"phq9": "phq9", "gad7": "gad7"}


class LinkUnavailable(LookupError):
    """The link is unknown, used or expired (one answer for all three, on purpose)."""


@dataclass(frozen=True)
class Submitted:
    """What the patient app needs after a submission: the instrument and any finding."""

    submission_id: int
    instrument: str
    urgent: UrgentFinding | None
    followup_visit_id: int | None
    patient_id: str = ""  # whose answers (for pushing an urgent finding to on-call)


def series_ended(session: Session, patient: Patient) -> bool:
    """True when the induction series is over: planned sessions reached or stopped."""
    flags = session.scalars(select(TreatmentSession.dropout_after).where(
        TreatmentSession.patient_pk == patient.id, TreatmentSession.phase == "induction")).all()
    count, stopped = len(flags), any(bool(f) for f in flags)  # max(boolean): not on PostgreSQL
    planned = patient.planned_sessions
    return count > 0 and (stopped or (planned is not None and count >= int(planned)))


def _as_visit(session: Session, patient: Patient, key: str, total: int,
              answered_at: datetime) -> int | None:
    """The follow-up visit for a PHQ-9/GAD-7 answered after the series, if it can be one."""
    if key not in VISIT_MEASURE or not series_ended(session, patient):
        return None
    try:
        with session.begin_nested():
            visit = add_visit(session, patient.patient_id,
                              {"visit_at": answered_at, VISIT_MEASURE[key]: total},
                              recorded_by=PATIENT_ACTOR.username, source="patient")
    except InputValidationError as error:  # e.g. the series' last session has no date
        log.warning("patient-reported %s of %s kept as a submission only: %s", key,
                    patient.patient_id, error)
        return None
    return visit.id


def submit(session: Session, token: str, raw: Mapping[str, object],
           now: datetime | None = None) -> Submitted:
    """Store a patient's answers (commits). ``LinkUnavailable`` or ``AnswerError``."""
    now = now or utcnow()
    invitation = usable(session, token, now)
    if invitation is None:
        raise LinkUnavailable("this link cannot be used")
    spec = find_instrument(invitation.instrument)
    scored = check_answers(spec, raw)  # AnswerError: nothing stored, link still usable
    if not claim(session, invitation, now):
        session.rollback()
        raise LinkUnavailable("this link cannot be used")
    patient = invitation.patient
    visit_id = _as_visit(session, patient, spec.key, scored.total, now)
    row = PromSubmission(invitation_id=invitation.id, patient=patient, instrument=spec.key,
                         answers=scored.answers, total=scored.total, answered_at=now,
                         followup_visit_id=visit_id, source="patient")
    session.add(row)
    session.flush()
    finding = urgent_finding(spec.key, scored.answers)
    if finding is not None:
        session.add(PromAlert(submission_id=row.id, patient=patient,
                              clinician=invitation.clinician, reason=finding.reason,
                              grade=finding.grade, raised_at=now))
    trail.record(session, PATIENT_ACTOR, "prom_submit", IDENTIFIED,
                 patient_id=patient.patient_id,
                 detail=f"{spec.key} via link {invitation.id}: total {scored.total}"
                 + (f"; URGENT: {finding.reason}" if finding else ""))
    session.commit()
    log.info("patient-reported %s stored for %s (submission %s)%s", spec.key,
             patient.patient_id, row.id, " with an URGENT alert" if finding else "")
    return Submitted(row.id, spec.key, finding, visit_id, patient.patient_id)


def submissions(session: Session, patient_id: str | None = None) -> list[PromSubmission]:
    """Stored submissions (all, or one patient's), oldest first."""
    stmt = select(PromSubmission).order_by(PromSubmission.answered_at, PromSubmission.id)
    if patient_id is not None:
        stmt = stmt.join(Patient).where(Patient.patient_id == patient_id)
    return list(session.scalars(stmt))
