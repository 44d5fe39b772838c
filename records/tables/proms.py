"""Patient-reported outcomes: schedules, one-time invitations, submissions, urgent alerts.

Revision 0013. ``records/__init__`` imports this module so the metadata always includes it.

- ``PromSchedule``: a patient's schedule when it differs from the clinic default (one row
  per patient; no row = the default of ``models.clinical.prom_schedule``).
- ``PromInvitation``: one link for one questionnaire. Only the SHA-256 of the token is
  stored (the token itself is shown once, e-mailed or printed); ``expires_at`` and
  ``used_at`` make it single-use and short-lived.
- ``PromSubmission``: the checked answers (JSON, item key → value), the total, and when the
  patient answered. A PHQ-9/GAD-7 answered after the series is also stored as a follow-up
  visit (``followup_visit_id``; ``followup_visits.source = 'patient'``) so relapse and the
  durability view read it like a staff-entered one.
- ``PromAlert``: an urgent finding addressed to the clinician, open until acknowledged.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from records.tables.clinical import Base, Patient, utcnow


class PromSchedule(Base):
    """A patient's questionnaire schedule (overrides the clinic default)."""

    __tablename__ = "prom_schedules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_pk: Mapped[int] = mapped_column(ForeignKey("patients.id"), unique=True)
    instruments: Mapped[list[str]] = mapped_column(JSON)
    before_sessions: Mapped[bool] = mapped_column(Boolean)
    weekly_induction: Mapped[bool] = mapped_column(Boolean)
    followup_weeks: Mapped[list[int]] = mapped_column(JSON)
    email: Mapped[str | None] = mapped_column(String(254))
    clinician: Mapped[str | None] = mapped_column(String(64))
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    patient: Mapped[Patient] = relationship()


class PromInvitation(Base):
    """A one-time link to one questionnaire (token stored hashed)."""

    __tablename__ = "prom_invitations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_pk: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    instrument: Mapped[str] = mapped_column(String(16))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    occasion: Mapped[str | None] = mapped_column(String(64))
    clinician: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column(nullable=True)
    sent_to: Mapped[str | None] = mapped_column(String(254))
    sent_at: Mapped[datetime | None] = mapped_column(nullable=True)
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    last_reminder_at: Mapped[datetime | None] = mapped_column(nullable=True)

    patient: Mapped[Patient] = relationship()


class PromSubmission(Base):
    """A questionnaire the patient answered through a link."""

    __tablename__ = "prom_submissions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invitation_id: Mapped[int] = mapped_column(ForeignKey("prom_invitations.id"),
                                               unique=True)
    patient_pk: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    instrument: Mapped[str] = mapped_column(String(16))
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    total: Mapped[int] = mapped_column(Integer)
    answered_at: Mapped[datetime] = mapped_column()
    followup_visit_id: Mapped[int | None] = mapped_column(
        ForeignKey("followup_visits.id"), nullable=True)
    source: Mapped[str] = mapped_column(String(16), default="patient")

    patient: Mapped[Patient] = relationship()


class PromAlert(Base):
    """An urgent finding from a submission, open until a clinician acknowledges it."""

    __tablename__ = "prom_alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("prom_submissions.id"),
                                               unique=True)
    patient_pk: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    clinician: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    grade: Mapped[str] = mapped_column(String(16))
    raised_at: Mapped[datetime] = mapped_column(default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(nullable=True)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)

    patient: Mapped[Patient] = relationship()
