"""CDS Hooks cards as issued to the EHR, and the EHR's feedback on them (issue 26).

``cds_cards`` holds one row per card a hook call returned (our own summary text, never
FHIR text), so feedback, which names a card only by its uuid, can be counted per card type.
``cds_feedback`` is append-only: what a clinician did with a card is a clinical record.
Kept on the same ``Base``; ``records/__init__`` imports this module. Revision 0014.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from records.tables.append_only import guard
from records.tables.clinical import Base, utcnow

OUTCOMES = ("accepted", "overridden")


class CdsCard(Base):
    """One card returned by a hook call: its uuid, type, indicator and who asked."""

    __tablename__ = "cds_cards"

    uuid: Mapped[str] = mapped_column(String(36), primary_key=True)
    service_id: Mapped[str] = mapped_column(String(64), index=True)
    card_type: Mapped[str] = mapped_column(String(80), index=True)
    indicator: Mapped[str] = mapped_column(String(16))
    issuer: Mapped[str] = mapped_column(String(200))
    patient_ref: Mapped[str] = mapped_column(String(200))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class CdsFeedback(Base):
    """The EHR's report that a card was accepted or overridden (and why)."""

    __tablename__ = "cds_feedback"
    __table_args__ = (CheckConstraint("outcome IN ('accepted', 'overridden')",
                                      name="ck_cds_feedback_outcome"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    card_uuid: Mapped[str] = mapped_column(String(36), index=True)
    service_id: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    override_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    override_display: Mapped[str | None] = mapped_column(String(200), nullable=True)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    accepted_suggestions: Mapped[str | None] = mapped_column(Text, nullable=True)
    outcome_at: Mapped[datetime] = mapped_column()
    issuer: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


guard(CdsFeedback, "CDS card feedback", "the EHR sends a new feedback entry instead")
