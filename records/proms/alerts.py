"""Urgent alerts from patient-reported answers: listing and audited acknowledgement.

An alert stays open (on Home, the progress page and the cohort alerts) until a clinician
acknowledges it; the acknowledgement records who, when and an optional note, and is
audited in the same transaction. An acknowledged alert cannot be acknowledged again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from records.audit import trail
from records.errors import RecordError, RecordNotFoundError
from records.security.policy import IDENTIFIED, Actor
from records.tables.clinical import Patient, utcnow
from records.tables.proms import PromAlert, PromSubmission

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AlertRow:
    """One urgent alert as a clinician sees it."""

    id: int
    patient_id: str
    instrument: str
    total: int
    reason: str
    grade: str
    clinician: str | None
    raised_at: datetime
    answered_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    note: str | None


def alerts(session: Session, patient_id: str | None = None,
           open_only: bool = True) -> list[AlertRow]:
    """Alerts (open ones by default), newest first."""
    stmt = (select(PromAlert, Patient.patient_id, PromSubmission)
            .join(Patient, Patient.id == PromAlert.patient_pk)
            .join(PromSubmission, PromSubmission.id == PromAlert.submission_id)
            .order_by(PromAlert.raised_at.desc(), PromAlert.id.desc()))
    if patient_id is not None:
        stmt = stmt.where(Patient.patient_id == patient_id)
    if open_only:
        stmt = stmt.where(PromAlert.acknowledged_at.is_(None))
    return [AlertRow(a.id, pid, s.instrument, s.total, a.reason, a.grade, a.clinician,
                     a.raised_at, s.answered_at, a.acknowledged_at, a.acknowledged_by, a.note)
            for a, pid, s in session.execute(stmt)]


def acknowledge(session: Session, alert_id: int, actor: Actor, note: str | None = None,
                now: datetime | None = None) -> None:
    """Acknowledge an open alert (audited; commits). Refuses a second acknowledgement."""
    alert = session.get(PromAlert, alert_id)
    if alert is None:
        raise RecordNotFoundError(f"no urgent questionnaire alert {alert_id}")
    text = (note or "").strip()[:2000] or None
    done = session.execute(update(PromAlert).where(
        PromAlert.id == alert_id, PromAlert.acknowledged_at.is_(None)).values(
        acknowledged_at=now or utcnow(), acknowledged_by=actor.username, note=text)
        .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        session.rollback()
        raise RecordError(f"urgent alert {alert_id} was already acknowledged")
    patient_id = session.scalar(select(Patient.patient_id).where(
        Patient.id == alert.patient_pk))
    trail.record(session, actor, "prom_alert_ack", IDENTIFIED, patient_id=patient_id,
                 detail=f"urgent alert {alert_id} acknowledged" + (f": {text}" if text else ""))
    session.commit()
    session.expire_all()
    log.info("urgent alert %s of %s acknowledged by %s", alert_id, patient_id, actor.username)
