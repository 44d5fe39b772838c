"""Server-side sign-in sessions: start, check on every request, end, list and revoke.

The browser keeps an opaque random token (``secrets.token_urlsafe``, 256 bits) and nothing
else; the store keeps only the token's SHA-256, so a copy of the database does not yield a
usable token. ``check`` is called on every dashboard run: it ends a session that has been
idle longer than ``SecuritySettings.session_idle_minutes`` or whose account is disabled,
and otherwise moves ``last_seen_at`` forward. Ending is final (sign-out, time-out,
revocation, disabled account): a token never works again once its row has ``ended_at``.

Writers flush; the caller commits, so a session and its audit entry are saved together.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from base.settings import SecuritySettings, security_settings
from records.audit import trail as audit
from records.errors import RecordNotFoundError
from records.security.policy import SECURITY, Actor
from records.tables.clinical import utcnow
from records.tables.security import User
from records.tables.signin import SigninSession

TOKEN_BYTES = 32
TOUCH_SECONDS = 15  # last_seen_at is written at most this often (one write per click otherwise)
REASON_TEXT = {"sign_out": "signed out", "timeout": "idle time-out",
               "revoked": "revoked by an administrator", "disabled": "account disabled"}


def token_digest(token: str) -> str:
    """The SHA-256 (hex) the store keeps instead of the token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SessionInfo:
    """A sign-in session as listed to an administrator (never the token)."""

    id: int
    username: str
    role: str
    method: str
    client: str | None
    created_at: datetime
    last_seen_at: datetime
    ended_at: datetime | None
    end_reason: str | None
    ended_by: str | None

    @property
    def active(self) -> bool:
        return self.ended_at is None


@dataclass(frozen=True)
class Check:
    """What ``check`` found: the account when ``ok``, else why not (``status``)."""

    status: str  # "ok", "unknown", "ended", "timeout", "disabled"
    username: str | None = None
    role: str | None = None
    session_id: int | None = None
    end_reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def start(session: Session, username: str, method: str, *, client: str | None = None,
          sso_login: str | None = None, now: datetime | None = None) -> str:
    """Open a session for an existing account; returns the token (shown nowhere else)."""
    user = session.scalars(select(User).where(User.username == username)).one_or_none()
    if user is None:
        raise RecordNotFoundError(f"no user {username!r}")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    when = now or utcnow()
    session.add(SigninSession(token_sha256=token_digest(token), user_id=user.id, method=method,
                              sso_login=sso_login, client=(client or None) and client[:200],
                              created_at=when, last_seen_at=when))
    session.flush()
    return token


def _end(row: SigninSession, reason: str, by: str | None, now: datetime) -> None:
    row.ended_at, row.end_reason, row.ended_by = now, reason, by


def _idle(row: SigninSession, now: datetime, settings: SecuritySettings) -> bool:
    return now - row.last_seen_at > timedelta(minutes=settings.session_idle_minutes)


def _row(session: Session, column: object, value: str) -> tuple[SigninSession, User] | None:
    stmt = (select(SigninSession, User).join(User, User.id == SigninSession.user_id)
            .where(column == value).execution_options(populate_existing=True))
    found = session.execute(stmt).one_or_none()
    return None if found is None else (found[0], found[1])


def check(session: Session, token: str | None, now: datetime | None = None,
          settings: SecuritySettings | None = None) -> Check:
    """Whether ``token`` belongs to a live session (ends it on time-out or a disabled account).

    Flushes its changes; the caller commits (and audits a time-out).
    """
    if not token:
        return Check("unknown")
    found = _row(session, SigninSession.token_sha256, token_digest(token))
    return _verdict(session, found, now or utcnow(), settings or security_settings())


def still_live(session: Session, token: str | None, now: datetime | None = None,
               settings: SecuritySettings | None = None) -> bool:
    """Whether ``token``'s session would pass ``check`` now, without touching or ending it.

    For the dashboard's idle watch: polling must not count as activity (``check`` moves
    ``last_seen_at`` forward), so this only reads.
    """
    if not token:
        return False
    found = _row(session, SigninSession.token_sha256, token_digest(token))
    if found is None:
        return False
    row, user = found
    return (row.ended_at is None and user.active
            and not _idle(row, now or utcnow(), settings or security_settings()))


def sso_login_state(session: Session, sso_login: str) -> str:
    """"unused", "live" or "ended": may this identity-provider login open a session?

    A login may open one session per tab while none of its sessions has ended; once one
    has (sign-out, time-out, revocation), the user has to sign in at the provider again.
    """
    ended = select(SigninSession.ended_at).where(SigninSession.sso_login == sso_login)
    rows = list(session.scalars(ended))
    if not rows:
        return "unused"
    return "ended" if any(when is not None for when in rows) else "live"


def _verdict(session: Session, found: tuple[SigninSession, User] | None, now: datetime,
             settings: SecuritySettings) -> Check:
    if found is None:
        return Check("unknown")
    row, user = found
    who = {"username": user.username, "role": user.role, "session_id": row.id}
    if row.ended_at is not None:
        return Check("ended", end_reason=row.end_reason, **who)
    if not user.active:
        _end_with_login(session, row, "disabled", None, now)
        return Check("disabled", end_reason="disabled", **who)
    if _idle(row, now, settings):
        _end_with_login(session, row, "timeout", None, now)
        return Check("timeout", end_reason="timeout", **who)
    if (now - row.last_seen_at).total_seconds() >= TOUCH_SECONDS:
        row.last_seen_at = now
        session.flush()
    return Check("ok", **who)


def end(session: Session, token: str, reason: str = "sign_out", by: str | None = None,
        now: datetime | None = None) -> bool:
    """End the session of ``token`` (every tab using it, and every other session opened by
    the same identity-provider login); False if it was not live."""
    found = _row(session, SigninSession.token_sha256, token_digest(token))
    if found is None or found[0].ended_at is not None:
        return False
    _end_with_login(session, found[0], reason, by, now or utcnow())
    return True


def _end_with_login(session: Session, row: SigninSession, reason: str, by: str | None,
                    now: datetime) -> None:
    _end(row, reason, by, now)
    if row.sso_login:
        session.execute(update(SigninSession).where(
            SigninSession.sso_login == row.sso_login, SigninSession.ended_at.is_(None))
            .values(ended_at=now, end_reason=reason, ended_by=by))
    session.flush()


def end_all_for(session: Session, username: str, reason: str, by: str | None = None,
                now: datetime | None = None) -> int:
    """End every live session of an account (disabling it, or revoking them all)."""
    user_ids = select(User.id).where(User.username == username).scalar_subquery()
    result = session.execute(
        update(SigninSession).where(SigninSession.user_id == user_ids,
                                    SigninSession.ended_at.is_(None))
        .values(ended_at=now or utcnow(), end_reason=reason, ended_by=by))
    session.flush()
    return int(result.rowcount)  # type: ignore[attr-defined]


def list_sessions(session: Session, active_only: bool = True, username: str | None = None,
                  now: datetime | None = None, limit: int = 500) -> list[SessionInfo]:
    """Sessions, most recently used first; idle ones past the time-out count as ended."""
    when, settings = now or utcnow(), security_settings()
    stmt = (select(SigninSession, User).join(User, User.id == SigninSession.user_id)
            .order_by(SigninSession.last_seen_at.desc(), SigninSession.id.desc()).limit(limit))
    if active_only:
        stmt = stmt.where(SigninSession.ended_at.is_(None))
    if username:
        stmt = stmt.where(User.username == username.strip().lower())
    rows = []
    for row, user in session.execute(stmt):
        ended_at, reason = row.ended_at, row.end_reason
        if ended_at is None and _idle(row, when, settings):
            if active_only:
                continue
            ended_at, reason = row.last_seen_at, "timeout"
        rows.append(SessionInfo(row.id, user.username, user.role, row.method, row.client,
                                row.created_at, row.last_seen_at, ended_at, reason,
                                row.ended_by))
    return rows


def revoke(session: Session, session_id: int, actor: Actor,
           now: datetime | None = None) -> SessionInfo:
    """End one session at once (an administrator's decision); audited as ``session_revoke``."""
    found = _row(session, SigninSession.id, session_id)  # type: ignore[arg-type]
    if found is None:
        raise RecordNotFoundError(f"no sign-in session {session_id}")
    row, user = found
    if row.ended_at is not None:
        raise ValueError(f"sign-in session {session_id} has already ended "
                         f"({REASON_TEXT.get(row.end_reason or '', row.end_reason)})")
    _end_with_login(session, row, "revoked", actor.username, now or utcnow())
    audit.record(session, actor, "session_revoke", SECURITY,
                 detail=f"session {row.id} of {user.username}")
    return SessionInfo(row.id, user.username, user.role, row.method, row.client,
                       row.created_at, row.last_seen_at, row.ended_at, row.end_reason,
                       row.ended_by)


def revoke_all(session: Session, username: str, actor: Actor) -> int:
    """End every live session of ``username``; audited (with the count) when any ended."""
    name = (username or "").strip().lower()
    if session.scalars(select(User.id).where(User.username == name)).one_or_none() is None:
        raise RecordNotFoundError(f"no user {username!r}")
    count = end_all_for(session, name, "revoked", by=actor.username)
    audit.record(session, actor, "session_revoke", SECURITY,
                 detail=f"all {count} session(s) of {name}")
    return count
