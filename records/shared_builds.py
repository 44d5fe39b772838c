"""A build lease in the store, and the result published under it (issue 31, item 4).

Replicas (several dashboard processes, perhaps on several machines) share one store. A
derived table that takes long to build (the cohort table: every patient predicted) is
built by whichever process claims the lease row first; the others see the lease, wait,
and read the published bytes instead of building the same store state again.

The lease has an expiry, renewed by the holder while it works, so a crashed holder blocks
the others for at most one lease period; after that any process may claim it. A holder
whose lease was taken over (it stalled past the expiry) cannot publish: ``publish`` only
writes while the row still names it. Claiming is one conditional UPDATE, which PostgreSQL
(row lock, re-checked after the first writer commits) and SQLite (one writer at a time)
both make atomic. Times are the processes' UTC clocks: replicas must keep them in step
(NTP); a skew shortens or lengthens the lease by that much.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import Engine, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from records.tables.builds import SharedBuild

log = logging.getLogger(__name__)

_T = SharedBuild.__table__


def holder_id() -> str:
    """Who holds a lease: host, process and a random part (a pid is reused)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive times: they were written in UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class Published:
    """A published build: the store state it was built at, its bytes and their tag."""

    fingerprint: str
    body: bytes
    tag: str
    builds: int
    published_by: str | None


@dataclass(frozen=True)
class LeaseState:
    """The row without its bytes: who holds the lease, until when, what was published."""

    holder: str | None
    expires_at: datetime | None
    fingerprint: str | None
    builds: int


def _ensure_row(engine: Engine, key: str) -> None:
    with engine.begin() as conn:
        if conn.execute(select(_T.c.key).where(_T.c.key == key)).first() is not None:
            return
    try:
        with engine.begin() as conn:
            conn.execute(insert(_T).values(key=key, builds=0))
    except IntegrityError:  # another process inserted it first: the row is there
        pass


def claim(engine: Engine, key: str, holder: str, seconds: float) -> bool:
    """Take the lease on ``key`` for ``seconds`` unless another holder's lease is running."""
    _ensure_row(engine, key)
    now = _now()
    with engine.begin() as conn:
        taken = conn.execute(
            update(_T).where(_T.c.key == key, or_(_T.c.holder.is_(None), _T.c.holder == holder,
                                                   _T.c.lease_expires_at < now))
            .values(holder=holder, lease_expires_at=now + timedelta(seconds=seconds)))
    if taken.rowcount == 1:
        log.info("build lease %s claimed by %s", key, holder)
        return True
    return False


def renew(engine: Engine, key: str, holder: str, seconds: float) -> bool:
    """Extend a lease still held; False when it was lost (expired and taken over)."""
    with engine.begin() as conn:
        kept = conn.execute(
            update(_T).where(_T.c.key == key, _T.c.holder == holder)
            .values(lease_expires_at=_now() + timedelta(seconds=seconds)))
    if kept.rowcount != 1:
        log.warning("build lease %s was lost by %s (it expired and another took it over)",
                    key, holder)
    return kept.rowcount == 1


def release(engine: Engine, key: str, holder: str) -> None:
    """Give the lease up without publishing (a failed build)."""
    with engine.begin() as conn:
        conn.execute(update(_T).where(_T.c.key == key, _T.c.holder == holder)
                     .values(holder=None, lease_expires_at=None))


def publish(engine: Engine, key: str, holder: str, fingerprint: str, body: bytes,
            tag: str) -> bool:
    """Store the result and end the lease, counting the build; False (nothing written)
    when ``holder`` no longer holds the lease."""
    with engine.begin() as conn:
        done = conn.execute(
            update(_T).where(_T.c.key == key, _T.c.holder == holder)
            .values(fingerprint=fingerprint, body=body, tag=tag,
                    digest=hashlib.sha256(body).hexdigest(), builds=_T.c.builds + 1,
                    holder=None, lease_expires_at=None, published_at=_now(),
                    published_by=holder))
    if done.rowcount != 1:
        log.warning("build %s not published: %s no longer holds its lease", key, holder)
        return False
    log.info("build %s published by %s at %s (%d bytes)", key, holder, fingerprint,
             len(body))
    return True


def state(engine: Engine, key: str) -> LeaseState | None:
    """The lease and what was published, without reading the bytes (None: no row)."""
    with engine.connect() as conn:
        row = conn.execute(select(_T.c.holder, _T.c.lease_expires_at, _T.c.fingerprint,
                                  _T.c.builds).where(_T.c.key == key)).one_or_none()
    if row is None:
        return None
    return LeaseState(row.holder, _aware(row.lease_expires_at), row.fingerprint,
                      int(row.builds or 0))


def published(engine: Engine, key: str) -> Published | None:
    """The published result, its bytes checked against their SHA-256 (None: nothing
    published, or bytes that do not match their digest, logged)."""
    with engine.connect() as conn:
        row = conn.execute(select(_T.c.fingerprint, _T.c.body, _T.c.digest, _T.c.tag,
                                  _T.c.builds, _T.c.published_by)
                           .where(_T.c.key == key)).one_or_none()
    if row is None or row.body is None or row.fingerprint is None:
        return None
    body = bytes(row.body)
    if hashlib.sha256(body).hexdigest() != row.digest:
        log.error("published build %s does not match its SHA-256: ignored", key)
        return None
    return Published(row.fingerprint, body, row.tag or "", int(row.builds or 0),
                     row.published_by)
