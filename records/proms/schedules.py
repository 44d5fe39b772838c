"""Questionnaire schedules in the store, and what is due, overdue or completed.

A patient without a schedule row has the clinic default
(``models.clinical.prom_schedule.DEFAULT_SCHEDULE``); a row overrides it (audited). The
clinic list covers patients "enrolled" in questionnaires: a schedule row or any link.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from base.settings import clinic_timezone
from models.clinical.prom_instruments import INSTRUMENTS
from models.clinical.prom_schedule import DEFAULT_SCHEDULE, Occasion, Plan, Schedule, occasions
from records.audit import trail
from records.lookup import require_patient
from records.security.policy import IDENTIFIED, Actor
from records.tables.clinical import Patient, TreatmentSession, utcnow
from records.tables.proms import PromInvitation, PromSchedule, PromSubmission


def schedule_row(session: Session, patient_id: str) -> PromSchedule | None:
    """The patient's own schedule row (None: the clinic default applies)."""
    patient = require_patient(session, patient_id)
    return session.scalars(select(PromSchedule).where(
        PromSchedule.patient_pk == patient.id)).one_or_none()


def schedule_for(session: Session, patient_id: str) -> Schedule:
    """The schedule in force for this patient."""
    row = schedule_row(session, patient_id)
    if row is None:
        return DEFAULT_SCHEDULE
    return Schedule(tuple(row.instruments), bool(row.before_sessions),
                    bool(row.weekly_induction), tuple(int(w) for w in row.followup_weeks))


def set_schedule(session: Session, patient_id: str, schedule: Schedule, actor: Actor, *,
                 email: str | None = None, clinician: str | None = None) -> PromSchedule:
    """Store the patient's schedule (audited; the caller commits). ValueError on bad input."""
    unknown = [k for k in schedule.instruments if k not in INSTRUMENTS]
    if unknown or not schedule.instruments:
        raise ValueError(f"instruments must be some of {', '.join(INSTRUMENTS)}"
                         + (f", not {', '.join(unknown)}" if unknown else ""))
    if any(not 1 <= w <= 104 for w in schedule.followup_weeks):
        raise ValueError("follow-up weeks must be between 1 and 104")
    if email is not None and ("@" not in email or len(email) > 254 or "\n" in email):
        raise ValueError(f"{email!r} is not an e-mail address")
    patient = require_patient(session, patient_id)
    row = schedule_row(session, patient_id) or PromSchedule(patient=patient)
    row.instruments = list(schedule.instruments)
    row.before_sessions = schedule.before_sessions
    row.weekly_induction = schedule.weekly_induction
    row.followup_weeks = sorted(set(schedule.followup_weeks))
    row.email, row.clinician = email, clinician
    row.updated_by, row.updated_at = actor.username, utcnow()
    session.add(row)
    session.flush()
    trail.record(session, actor, "prom_schedule", IDENTIFIED, patient_id=patient_id,
                 detail=f"instruments {','.join(schedule.instruments)}; before sessions "
                 f"{schedule.before_sessions}; weekly in induction {schedule.weekly_induction};"
                 f" follow-up weeks {row.followup_weeks}")
    return row


def _local(moment) -> date:  # noqa: ANN001 - an aware datetime
    return moment.astimezone(clinic_timezone()).date()


def patient_occasions(session: Session, patient_id: str,
                      today: date | None = None) -> tuple[list[Occasion], list[str]]:
    """(every scheduled occasion with its status, what could not be scheduled and why)."""
    patient = require_patient(session, patient_id)
    rows = session.execute(select(TreatmentSession.session_at, TreatmentSession.dropout_after)
                           .where(TreatmentSession.patient_pk == patient.id,
                                  TreatmentSession.phase == "induction")
                           .order_by(TreatmentSession.session_number)).all()
    plan = Plan([None if at is None else _local(at) for at, _ in rows],
                patient.planned_sessions, any(bool(s) for _, s in rows))
    answered = [(k, _local(at)) for k, at in session.execute(
        select(PromSubmission.instrument, PromSubmission.answered_at)
        .where(PromSubmission.patient_pk == patient.id)
        .order_by(PromSubmission.answered_at))]
    today = today or _local(utcnow())
    return occasions(schedule_for(session, patient_id), plan, answered, today), plan.missing


def enrolled_patients(session: Session) -> list[str]:
    """Patients with a questionnaire schedule row or any link, by id."""
    with_row = select(Patient.patient_id).join(PromSchedule, PromSchedule.patient_pk == Patient.id)
    with_link = select(Patient.patient_id).join(PromInvitation,
                                                PromInvitation.patient_pk == Patient.id)
    return sorted(set(session.scalars(with_row)) | set(session.scalars(with_link)))
