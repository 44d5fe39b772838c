"""SMART launches between the redirect to the EHR and its callback, kept in the store.

A launch's PKCE verifier and nonce must reach whichever dashboard process receives the
callback; with replicas behind a proxy that need not be the one that began it (issue 31).
A row is keyed by the SHA-256 of ``state`` (the value itself is never stored), taken once
— deleted in the transaction that reads it, so two callbacks with one state finish at most
one launch — and refused once expired. The browser binding is kept as a hash too and is
compared by the caller. The payload is opaque here (``interop.smart.flow`` writes it).
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from records.tables.clinical import utcnow
from records.tables.smart import SmartPending

log = logging.getLogger(__name__)


def digest(value: str) -> str:
    """The SHA-256 (hex) a state or binding is kept and looked up as."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def keep(session: Session, state: str, binding: str, launch: dict[str, Any],
         seconds: int, now: datetime | None = None) -> None:
    """Store a launch for ``seconds`` (and drop expired ones); the caller commits."""
    now = now or utcnow()
    session.execute(delete(SmartPending).where(SmartPending.expires_at < now))
    session.add(SmartPending(state_sha256=digest(state), binding_sha256=digest(binding),
                             launch=dict(launch), created_at=now,
                             expires_at=now + timedelta(seconds=seconds)))
    session.flush()


def take(session: Session, state: str, now: datetime | None = None
         ) -> tuple[dict[str, Any], str] | None:
    """The launch for ``state`` and its binding hash, removed from the store; None when
    unknown, already taken or expired. The caller commits (the removal with its use)."""
    if not state:
        return None
    now = now or utcnow()
    row = session.get(SmartPending, digest(state))
    if row is None:
        return None
    launch, binding, expires = dict(row.launch), row.binding_sha256, row.expires_at
    gone = session.execute(delete(SmartPending).where(
        SmartPending.state_sha256 == digest(state))).rowcount
    session.flush()
    if gone != 1:  # another callback with this state took it first
        return None
    if expires < now:
        log.info("a SMART launch came back after it expired")
        return None
    return launch, binding
