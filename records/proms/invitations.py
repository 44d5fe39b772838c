"""One-time questionnaire links: random token, stored hashed, expiring, single use.

The token (``secrets.token_urlsafe(32)``, 256 bits) is returned once to the caller, who
e-mails, prints or shows it; the store keeps only its SHA-256, so a copy of the database
opens no questionnaire. ``usable`` answers the same ``None`` for an unknown, used or
expired token, so the patient app cannot be used to tell them apart.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from base.proms_settings import prom_settings
from models.clinical.prom_instruments import instrument as find_instrument
from records.audit import trail
from records.lookup import require_patient
from records.security.policy import IDENTIFIED, Actor
from records.tables.clinical import utcnow
from records.tables.proms import PromInvitation

log = logging.getLogger(__name__)

TOKEN_BYTES = 32


def token_digest(token: str) -> str:
    """SHA-256 hex of a link token (what the store keeps)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_invitation(session: Session, patient_id: str, instrument: str, actor: Actor, *,
                      occasion: str | None = None, clinician: str | None = None,
                      days: int | None = None, now: datetime | None = None,
                      ) -> tuple[PromInvitation, str]:
    """A new link for one questionnaire and its token (audited; the caller commits)."""
    find_instrument(instrument)  # ValueError for an unknown questionnaire
    patient = require_patient(session, patient_id)
    now = now or utcnow()
    days = days if days is not None else prom_settings().link_days
    if not 1 <= days <= 30:
        raise ValueError(f"a link lasts 1 to 30 days, not {days}")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    invitation = PromInvitation(
        patient=patient, instrument=instrument, token_sha256=token_digest(token),
        occasion=occasion, clinician=clinician or actor.username, created_by=actor.username,
        created_at=now, expires_at=now + timedelta(days=days), reminders_sent=0)
    session.add(invitation)
    session.flush()
    trail.record(session, actor, "prom_invite", IDENTIFIED, patient_id=patient_id,
                 detail=f"{instrument} link {invitation.id}, valid {days} days"
                 + (f", {occasion}" if occasion else ""))
    log.info("questionnaire link %s (%s) for patient %s", invitation.id, instrument,
             patient_id)
    return invitation, token


def usable(session: Session, token: str, now: datetime | None = None) -> PromInvitation | None:
    """The invitation this token opens, or None (unknown, used or expired alike)."""
    if not token or len(token) > 200:
        return None
    now = now or utcnow()
    invitation = session.scalars(select(PromInvitation).where(
        PromInvitation.token_sha256 == token_digest(token))).one_or_none()
    if invitation is None or invitation.used_at is not None or invitation.expires_at <= now:
        return None
    return invitation


def claim(session: Session, invitation: PromInvitation, now: datetime) -> bool:
    """Mark the link used, atomically: False when another request used it first."""
    done = session.execute(update(PromInvitation).where(
        PromInvitation.id == invitation.id, PromInvitation.used_at.is_(None),
        PromInvitation.expires_at > now).values(used_at=now)
        .execution_options(synchronize_session=False))
    return done.rowcount == 1


def mark_sent(session: Session, invitation_id: int, address: str, now: datetime | None = None,
              reminder: bool = False) -> None:
    """Record that the link (or a reminder) went to ``address``."""
    invitation = session.get(PromInvitation, invitation_id)
    if invitation is None:
        raise ValueError(f"no questionnaire link {invitation_id}")
    now = now or utcnow()
    invitation.sent_to = address
    if reminder:
        invitation.reminders_sent += 1
        invitation.last_reminder_at = now
    else:
        invitation.sent_at = now
    session.flush()


def rotate(session: Session, invitation: PromInvitation) -> str:
    """A new token for an unused link (a reminder carries it; the old one stops working,
    since only hashes are stored and the old token cannot be sent again). Same expiry."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    invitation.token_sha256 = token_digest(token)
    session.flush()
    return token


def due_reminders(session: Session, now: datetime | None = None) -> list[PromInvitation]:
    """E-mailed links, unused and unexpired, whose next reminder is due."""
    settings = prom_settings()
    now = now or utcnow()
    gap = timedelta(hours=settings.remind_hours)
    rows = session.scalars(select(PromInvitation).where(
        PromInvitation.used_at.is_(None), PromInvitation.expires_at > now,
        PromInvitation.sent_to.is_not(None),
        PromInvitation.reminders_sent < settings.max_reminders)).all()
    return [r for r in rows if (r.last_reminder_at or r.sent_at or r.created_at) + gap <= now]
