"""Abuse controls of the patient app: a per-client rate limit and the CSRF check.

Rate limit: a sliding one-minute window per client address, in memory (one process; a
deployment behind several workers puts the limit in its reverse proxy instead, see
docs/proms.md). CSRF: the double-submit pattern — a random value in a ``SameSite=Strict``,
``HttpOnly`` cookie scoped to ``/q/`` and the same value in the form; a POST whose two
values differ (or lack) is refused. Works without JavaScript.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import deque

CSRF_COOKIE = "kapcds_proms_csrf"


class RateLimiter:
    """At most ``per_minute`` requests per key in any 60 seconds."""

    def __init__(self, per_minute: int, clock=time.monotonic) -> None:  # noqa: ANN001
        self.per_minute, self._clock = per_minute, clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        """Count one request for ``key``; False when it is over the limit."""
        now = self._clock()
        with self._lock:
            if len(self._hits) > 10_000:  # forget idle clients so memory stays bounded
                self._hits = {k: v for k, v in self._hits.items() if v and v[-1] > now - 60}
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - 60:
                hits.popleft()
            if len(hits) >= self.per_minute:
                return False
            hits.append(now)
            return True


def new_csrf() -> str:
    """A fresh random CSRF value."""
    return secrets.token_urlsafe(24)


def csrf_ok(cookie: str | None, form: str | None) -> bool:
    """True when the form carries the cookie's CSRF value (constant-time compare)."""
    return bool(cookie) and bool(form) and hmac.compare_digest(str(cookie), str(form))
