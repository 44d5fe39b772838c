"""SMART App Launch: the EHR issuers a clinic allows, and which EHR user is which account.

``smart_issuers`` is the admin's allow-list: the dashboard contacts no SMART issuer that is
not a row here (issue 26), and each row holds the client id the EHR registered KAP-CDS
under. ``smart_identities`` maps an EHR user (``fhirUser``, e.g. ``Practitioner/123``) *on
one issuer* to a KAP-CDS account; the account keeps deciding the role. Kept on the same
``Base``; ``records/__init__`` imports this module. Revision 0016.

``smart_pending`` holds a launch between the redirect to the EHR and its callback (revision
0017), so the callback may reach any dashboard replica: keyed by the SHA-256 of ``state``,
used once, refused after ``expires_at``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from records.tables.clinical import Base, utcnow


class SmartIssuer(Base):
    """An EHR's FHIR base URL (SMART ``iss``) the admin allows, with our client id there."""

    __tablename__ = "smart_issuers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    issuer: Mapped[str] = mapped_column(String(300), unique=True)
    client_id: Mapped[str] = mapped_column(String(200))
    label: Mapped[str] = mapped_column(String(80))
    added_by: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class SmartIdentity(Base):
    """One EHR user (``fhirUser`` on ``issuer``) who signs in as one KAP-CDS account."""

    __tablename__ = "smart_identities"
    __table_args__ = (UniqueConstraint("issuer", "fhir_user", name="uq_smart_identities"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    issuer: Mapped[str] = mapped_column(String(300), index=True)
    fhir_user: Mapped[str] = mapped_column(String(200))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    added_by: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class SmartPending(Base):
    """One launch waiting for its callback: what the callback needs (PKCE verifier, nonce,
    the issuer's endpoints) and the browser binding it must come back with."""

    __tablename__ = "smart_pending"

    state_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    binding_sha256: Mapped[str] = mapped_column(String(64))
    launch: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
