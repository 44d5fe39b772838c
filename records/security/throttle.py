"""Sign-in throttling by source address (issue 24), in place of the account lock.

The account lock let anyone who knew ``admin`` lock it for 15 minutes, forever, and nothing
limited guesses across accounts (200 usernames in 1.3 s). Now failures are counted per
minute in ``signin_throttle`` (revision 0011) under three keys:

- the pair (account, source address): after ``lockout_attempts`` (5) failures in the last
  hour, that address must wait before it may try *that account* again: 30 s, doubling with
  every further failure, at most ``lockout_minutes`` (15). The real user at another address
  is not affected: an anonymous caller cannot deny them the account;
- the source address: ``SOURCE_LIMIT`` (10) failures in ``SOURCE_WINDOW`` (15 minutes), any
  accounts, and that address is refused until the oldest falls out of the window;
- everyone (``*``): over ``GLOBAL_LIMIT`` (100) failures in the last minute, every password
  check is delayed (back-off: 0.5 s, doubling per further 100, at most 5 s) but never
  refused, so a distributed flood slows sign-in without locking anybody out.

Refused attempts are not counted again (a refused source cannot extend its own wait
without end) and cost the same bcrypt time as a real check. The numbers are *unsourced*
defaults (OWASP's authentication guidance recommends throttling over hard lockout without
fixing values); the first two follow ``KAPCDS_LOCKOUT_ATTEMPTS`` / ``KAPCDS_LOCKOUT_MINUTES``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from base.settings import SecuritySettings
from records.tables.edge import SigninThrottle

SOURCE_LIMIT = 10
SOURCE_WINDOW = timedelta(minutes=15)
PAIR_WINDOW = timedelta(hours=1)
FIRST_WAIT_SECONDS = 30
GLOBAL_LIMIT = 100
MAX_GLOBAL_DELAY = 5.0
EVERYONE = "*"
LOCAL = "local"  # sign-ins without an address (the CLI, tests)
_T = SigninThrottle.__table__


@dataclass(frozen=True)
class Verdict:
    """Whether a sign-in may be checked now; if not, until when and why; and the delay."""

    allowed: bool
    until: datetime | None = None
    reason: str = ""
    delay: float = 0.0


def _source(address: str | None) -> str:
    return "s:" + (address or LOCAL)[:60]


def _pair(address: str | None, username: str) -> str:
    digest = hashlib.sha256(f"{address or LOCAL}\x00{username}".encode()).hexdigest()
    return "a:" + digest[:40]


def _minute(now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0)


def _windows(session: Session, key: str, since: datetime) -> list[tuple[datetime, int]]:
    rows = session.execute(select(_T.c.window, _T.c.failures).where(
        _T.c.source == key, _T.c.window >= since).order_by(_T.c.window)).all()
    return [(_aware(w, since), int(n)) for w, n in rows]


def _aware(value: datetime, like: datetime) -> datetime:
    return value.replace(tzinfo=like.tzinfo) if value.tzinfo is None else value


def check(session: Session, address: str | None, username: str, now: datetime,
          settings: SecuritySettings) -> Verdict:
    """Whether this address may try this account now (read only)."""
    pair = _windows(session, _pair(address, username), now - PAIR_WINDOW)
    failures = sum(n for _, n in pair)
    if failures >= settings.lockout_attempts:
        wait = min(FIRST_WAIT_SECONDS * 2 ** (failures - settings.lockout_attempts),
                   settings.lockout_minutes * 60)
        until = pair[-1][0] + timedelta(minutes=1, seconds=wait)
        if now < until:
            return Verdict(False, until, f"{failures} failed sign-ins to this account from "
                           f"this address: wait {wait} s")
    source = _windows(session, _source(address), now - SOURCE_WINDOW)
    if sum(n for _, n in source) >= SOURCE_LIMIT:
        until = source[0][0] + SOURCE_WINDOW + timedelta(minutes=1)
        return Verdict(False, until, f"{SOURCE_LIMIT} failed sign-ins from this address in "
                       f"{int(SOURCE_WINDOW.total_seconds() // 60)} minutes")
    everyone = sum(n for _, n in _windows(session, EVERYONE, _minute(now)))
    delay = 0.0
    if everyone > GLOBAL_LIMIT:
        delay = min(0.5 * 2 ** ((everyone - GLOBAL_LIMIT) // GLOBAL_LIMIT), MAX_GLOBAL_DELAY)
    return Verdict(True, delay=delay)


def _add(session: Session, key: str, window: datetime) -> None:
    bump = update(_T).where(_T.c.source == key, _T.c.window == window).values(
        failures=_T.c.failures + 1)
    if session.execute(bump).rowcount:
        return
    try:
        with session.begin_nested():  # another process may insert the same minute first
            session.execute(_T.insert().values(source=key, window=window, failures=1))
    except IntegrityError:
        session.execute(bump)


def failed(session: Session, address: str | None, username: str, now: datetime) -> None:
    """Count one failed sign-in (pair, source and everyone) in the caller's transaction."""
    window = _minute(now)
    for key in (_pair(address, username), _source(address), EVERYONE):
        _add(session, key, window)
    session.execute(delete(_T).where(_T.c.window < window - timedelta(days=1)))


def succeeded(session: Session, address: str | None, username: str) -> None:
    """A correct password from this address clears its count for this account."""
    session.execute(delete(_T).where(_T.c.source == _pair(address, username)))


def recent_failures(session: Session, address: str | None, now: datetime) -> int:
    """Failures from ``address`` in the source window (for messages and tests)."""
    return int(session.scalar(select(func.coalesce(func.sum(_T.c.failures), 0)).where(
        _T.c.source == _source(address), _T.c.window >= now - SOURCE_WINDOW)) or 0)
