"""What the CDS Hooks service does before it trusts a request (issue 24).

- ``read_body``: the body is read only after the caller is authenticated, in chunks, and
  refused past ``MAX_BODY_BYTES`` (413) — an unauthenticated 50 MB body grew the server by
  50 MB.
- ``check_depth``: JSON nested deeper than ``MAX_JSON_DEPTH`` is refused (400) before it
  is parsed (it used to end in a RecursionError and a 500).
- ``StoreReplayGuard``: accepted token ids (issuer + ``jti``) are kept in the store until
  the token expires, so a token is refused the second time even after a restart.
- ``RefusalLog``: refused calls are audited once per issuer (an unknown one counts as
  "unknown issuer") and minute, with a count, so a flood cannot grow the trail without
  bound (300 unauthenticated calls wrote 300 rows).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Engine, delete
from sqlalchemy.exc import IntegrityError

from interop.cds_hooks.auth import LEEWAY_SECONDS, AuthError

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024  # a patient-view call with full prefetch is well under this
MAX_JSON_DEPTH = 64  # FHIR resources nest far less deeply
MAX_TRACKED = 1000  # issuers x minutes kept in memory before the oldest are written out
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(rb"[\[\]{}]")


class BodyTooLarge(ValueError):
    """The request body exceeds ``MAX_BODY_BYTES`` (HTTP 413)."""


async def read_body(chunks: AsyncIterator[bytes], declared: str | None,
                    limit: int = MAX_BODY_BYTES) -> bytes:
    """The body, read chunk by chunk and refused as soon as it passes ``limit``."""
    if declared and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"the request body ({declared} bytes) exceeds {limit} bytes")
    parts, size = [], 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"the request body exceeds {limit} bytes")
        parts.append(chunk)
    return b"".join(parts)


def check_depth(raw: bytes, limit: int = MAX_JSON_DEPTH) -> None:
    """ValueError when JSON text nests arrays/objects deeper than ``limit``."""
    depth = 0
    for match in _BRACKETS.finditer(_STRING.sub(b'""', raw)):
        depth += 1 if match.group() in (b"[", b"{") else -1
        if depth > limit:
            raise ValueError(f"the request JSON nests deeper than {limit} levels")


def parse_json(raw: bytes) -> Any:
    """The body as JSON after the depth check (ValueError for either problem)."""
    check_depth(raw)
    return json.loads(raw or b"null")


class StoreReplayGuard:
    """Token ids remembered in the store's ``cds_token_uses`` table until they expire."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def check(self, iss: str, jti: str, exp: float) -> None:
        from records.tables.edge import CdsTokenUse

        key = hashlib.sha256(f"{iss}\x00{jti}".encode()).hexdigest()
        now = datetime.now(timezone.utc)
        expires = datetime.fromtimestamp(exp, timezone.utc) + timedelta(seconds=LEEWAY_SECONDS)
        try:
            with self.engine.begin() as conn:
                conn.execute(delete(CdsTokenUse.__table__).where(
                    CdsTokenUse.__table__.c.expires_at < now))
                conn.execute(CdsTokenUse.__table__.insert().values(token_key=key,
                                                                   expires_at=expires))
        except IntegrityError as exc:
            raise AuthError(f"token jti {jti[:40]!r} was already used") from exc


class RefusalLog:
    """Refused calls, audited at most twice per issuer and minute: the first at once, the
    rest as one counted entry when that minute is over (or the service stops)."""

    def __init__(self, write: Any) -> None:
        self._write = write  # write(issuer, detail) -> None: one audit entry
        self._counts: dict[tuple[str, int], list[Any]] = {}
        self._lock = threading.Lock()

    def refused(self, issuer: str, reason: str) -> None:
        minute = int(time.time() // 60)
        key = (issuer, minute)
        with self._lock:
            due = self._due(minute)
            entry = self._counts.get(key)
            first = entry is None
            if first:
                self._counts[key] = [0, reason]
            else:
                entry[0] += 1
                entry[1] = reason
        self._flush(due)
        if first:
            self._write(issuer, f"refused CDS Hooks call from {issuer}: {reason}")

    def _due(self, minute: int) -> list[tuple[tuple[str, int], list[Any]]]:
        old = [k for k in self._counts if k[1] < minute]
        if len(self._counts) > MAX_TRACKED:
            old = list(self._counts)[: len(self._counts) - MAX_TRACKED // 2]
        return [(k, self._counts.pop(k)) for k in old]

    def _flush(self, due: list[tuple[tuple[str, int], list[Any]]]) -> None:
        for (issuer, minute), (more, reason) in due:
            if more:
                at = datetime.fromtimestamp(minute * 60, timezone.utc).strftime("%H:%M")
                self._write(issuer, f"{more} more refused CDS Hooks calls from {issuer} in "
                            f"the minute from {at} UTC (last reason: {reason})")

    def close(self) -> None:
        """Write every pending count (service shutdown)."""
        with self._lock:
            due = list(self._counts.items())
            self._counts.clear()
        self._flush(due)
