"""Inviting a patient and reminding them: links created in the store, sent by e-mail.

``invite`` creates one link per questionnaire (audited) and, with an address, e-mails each;
the links are returned so the CLI can print them or the dashboard can show a QR code.
``send_reminders`` e-mails every link whose reminder is due with a fresh token (the store
keeps only hashes, so the old token cannot be re-sent; it stops working). An e-mail that
fails leaves the link valid and is reported, never retried silently.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from base.proms_settings import prom_settings, smtp_settings
from base.settings import clinic_timezone
from interop.patient_app.delivery import link_url, message_text, send_email
from models.clinical.prom_instruments import instrument as find_instrument
from records.proms import invitations
from records.proms.schedules import enrolled_patients, patient_occasions, schedule_row
from records.security.policy import Actor
from records.tables.clinical import Patient, utcnow
from records.tables.proms import PromInvitation

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Link:
    """A created link: which questionnaire, its address, until when, where it was sent."""

    invitation_id: int
    instrument: str
    url: str
    expires_at: datetime
    emailed_to: str | None


def invite(session: Session, patient_id: str, instruments: list[str], actor: Actor, *,
           email: str | None = None, occasion: str | None = None,
           clinician: str | None = None) -> list[Link]:
    """Create (and e-mail) one link per questionnaire; commits."""
    settings = prom_settings()
    smtp = smtp_settings() if email else None
    links = []
    for key in instruments:
        spec = find_instrument(key)
        row, token = invitations.create_invitation(session, patient_id, key, actor,
                                                   occasion=occasion, clinician=clinician)
        url = link_url(settings, token)
        session.commit()
        if email and smtp is not None:
            send_email(smtp, email, f"{settings.clinic_name}: questionnaire",
                       message_text(settings, spec.title, url, row.expires_at, False))
            invitations.mark_sent(session, row.id, email)
            session.commit()
        links.append(Link(row.id, key, url, row.expires_at, email))
    return links


def send_reminders(session: Session, now: datetime | None = None) -> tuple[int, list[str]]:
    """E-mail every due reminder; (sent, problems). Commits each one on its own."""
    settings, smtp = prom_settings(), smtp_settings()
    sent, problems = 0, []
    for row in invitations.due_reminders(session, now):
        token = invitations.rotate(session, row)
        spec = find_instrument(row.instrument)
        try:
            send_email(smtp, row.sent_to or "", f"{settings.clinic_name}: reminder",
                       message_text(settings, spec.title, link_url(settings, token),
                                    row.expires_at, True))
        except (OSError, ValueError, RuntimeError) as error:
            session.rollback()  # the old token stays valid
            problems.append(f"link {row.id}: {error}")
            continue
        invitations.mark_sent(session, row.id, row.sent_to or "", now, reminder=True)
        session.commit()
        sent += 1
    return sent, problems


def _open_link_exists(session: Session, patient_id: str, instrument: str, occasion: str,
                      now: datetime) -> bool:
    return session.scalar(select(PromInvitation.id).join(Patient).where(
        Patient.patient_id == patient_id, PromInvitation.instrument == instrument,
        PromInvitation.occasion == occasion, PromInvitation.expires_at > now)
        .limit(1)) is not None


def send_due(session: Session, actor: Actor, now: datetime | None = None
             ) -> tuple[list[Link], list[str]]:
    """Create and e-mail a link for every due occasion of patients whose schedule has an
    e-mail address, unless that occasion already has a live or answered link; returns the
    links sent and the problems (patients without an address are named, not skipped
    silently)."""
    now = now or utcnow()
    sent: list[Link] = []
    problems: list[str] = []
    for pid in enrolled_patients(session):
        row = schedule_row(session, pid)
        found, _ = patient_occasions(session, pid, now.astimezone(clinic_timezone()).date())
        due = [o for o in found if o.status == "due"
               and not _open_link_exists(session, pid, o.instrument, o.label, now)]
        if not due:
            continue
        if row is None or not row.email:
            problems.append(f"{pid}: {len(due)} questionnaire(s) due but no e-mail address "
                            "in the schedule; invite by link or QR code")
            continue
        for occasion in due:
            try:
                sent += invite(session, pid, [occasion.instrument], actor, email=row.email,
                               occasion=occasion.label, clinician=row.clinician)
            except (OSError, ValueError, RuntimeError) as error:
                session.rollback()
                problems.append(f"{pid} {occasion.instrument} {occasion.label}: {error}")
    return sent, problems
