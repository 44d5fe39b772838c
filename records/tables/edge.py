"""Tables of issue 24 (revision 0011): the store's identity for audit anchoring, the CDS
Hooks token replay cache and sign-in throttling by source."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from records.tables.clinical import Base


class AuditAnchor(Base):
    """One row: the id signed checkpoints name, and the newest checkpoint's number."""

    __tablename__ = "audit_anchor"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    store_id: Mapped[str] = mapped_column(String(36))
    checkpoints: Mapped[int] = mapped_column(Integer, server_default="0")


class CdsTokenUse(Base):
    """An accepted CDS Hooks token (SHA-256 of issuer and jti), kept until it expires."""

    __tablename__ = "cds_token_uses"

    token_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class SigninThrottle(Base):
    """Failed sign-ins per source address (``*``: all sources) and minute."""

    __tablename__ = "signin_throttle"

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    window: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, server_default="0")
