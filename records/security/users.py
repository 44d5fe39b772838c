"""Dashboard accounts: create, sign in (throttled), disable, change role or password.

Passwords are stored only as bcrypt hashes. A wrong password counts towards the throttle
of ``records.security.throttle`` (issue 24: a growing wait per account *and source
address*, a limit per address and a global back-off) instead of locking the account, so an
anonymous caller cannot lock the real user out; unknown names cost the same bcrypt time,
so timing does not reveal who has an account.
Every sign-in and every account change is written to the audit trail in the same
transaction. Writers flush; the caller commits (``authenticate`` commits itself, because a
failed attempt must be counted even though the sign-in "fails").
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

import bcrypt
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from base.settings import SecuritySettings, security_settings
from records.audit import trail as audit
from records.errors import DuplicateRecordError, LastAdminError, RecordNotFoundError
from records.security import signin_sessions as sessions
from records.security import throttle
from records.security.policy import ADMIN, SECURITY, SYSTEM_ROLE, Actor, check_role
from records.tables.clinical import utcnow
from records.tables.security import User

log = logging.getLogger(__name__)

USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
BCRYPT_MAX_BYTES = 72  # bcrypt ignores anything longer; refuse instead of truncating


@lru_cache(maxsize=4)
def _dummy_hash(rounds: int) -> str:
    """A hash at the configured cost, checked for unknown names (same time as a real one)."""
    return bcrypt.hashpw(secrets.token_bytes(16), bcrypt.gensalt(rounds)).decode("ascii")


def hash_password(password: str, rounds: int | None = None) -> str:
    """A bcrypt hash (with its own salt) of ``password``."""
    rounds = rounds or security_settings().bcrypt_rounds
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds)).decode("ascii")


def check_password_rules(password: str, settings: SecuritySettings | None = None) -> None:
    """ValueError saying what is wrong with a new password."""
    settings = settings or security_settings()
    if len(password) < settings.min_password_length:
        raise ValueError(f"the password needs at least {settings.min_password_length} "
                         "characters")
    if len(password.encode("utf-8")) > BCRYPT_MAX_BYTES:
        raise ValueError(f"the password may have at most {BCRYPT_MAX_BYTES} bytes")
    if password.strip() != password or not password.strip():
        raise ValueError("the password may not start or end with spaces")


def normalise_username(username: str) -> str:
    """Usernames are lower case: 2-64 of a-z, 0-9, '.', '_', '-' (starting alphanumeric)."""
    name = (username or "").strip().lower()
    if not USERNAME.fullmatch(name):
        raise ValueError(f"invalid username {username!r}: use 2-64 lower-case letters, "
                         "digits, '.', '_' or '-', starting with a letter or digit")
    return name


def get_user(session: Session, username: str) -> User | None:
    """The account as stored now (None if unknown)."""
    stmt = (select(User).where(User.username == (username or "").strip().lower())
            .execution_options(populate_existing=True))
    return session.scalars(stmt).one_or_none()


def normalise_email(email: str | None) -> str | None:
    """An e-mail address in lower case (None for none; ValueError if it is not one)."""
    value = (email or "").strip().lower()
    if not value:
        return None
    if len(value) > 254 or not EMAIL.fullmatch(value):
        raise ValueError(f"invalid e-mail address {email!r}")
    return value


def _require(session: Session, username: str) -> User:
    user = get_user(session, username)
    if user is None:
        raise RecordNotFoundError(f"no user {username!r}")
    return user


def list_users(session: Session) -> list[User]:
    """Every account, by username."""
    return list(session.scalars(select(User).order_by(User.username)))


def create_user(session: Session, username: str, password: str | None, role: str,
                actor: Actor, email: str | None = None) -> User:
    """Add an active account (DuplicateRecordError if the name is taken).

    ``password`` None makes a single-sign-on-only account: its hash is of a random secret
    nobody knows. ``email`` is what single sign-on may match the account by.
    """
    name = normalise_username(username)
    check_role(role)
    if password is not None:
        check_password_rules(password)
    if get_user(session, name) is not None:
        raise DuplicateRecordError(f"user {name!r} already exists")
    secret = password if password is not None else secrets.token_urlsafe(32)
    user = User(username=name, password_hash=hash_password(secret), role=role, active=True,
                failed_attempts=0, email=normalise_email(email))
    session.add(user)
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise DuplicateRecordError(f"user {name!r} already exists") from exc
    audit.record(session, actor, "user_create", SECURITY, detail=f"{name} as {role}")
    log.info("created user %s (%s)", name, role)
    return user


def active_admins(session: Session, *, lock: bool = False) -> list[str]:
    """The usernames of active administrators (``lock``: row locks where the database has
    them, so two concurrent demotions cannot both see the other still in place)."""
    stmt = select(User.username).where(User.role == ADMIN, User.active.is_(True))
    if lock:
        stmt = stmt.with_for_update()
    return sorted(session.scalars(stmt.order_by(User.username)))


def _keep_an_admin(session: Session, user: User, when: str) -> None:
    """Refuse a change that leaves no active administrator.

    Checked before the change (with row locks: PostgreSQL) and again after it is flushed
    (SQLite serialises writers, so the second check sees a concurrent commit).
    """
    if user.role == ADMIN and user.active and len(active_admins(session, lock=True)) <= 1:
        raise LastAdminError(f"{user.username} is the last active administrator: {when} would "
                             "leave nobody to manage accounts. Make another account "
                             "administrator first.")


def _still_an_admin(session: Session, username: str, when: str) -> None:
    session.flush()
    if not active_admins(session):
        raise LastAdminError(f"{username} is the last active administrator: {when} would "
                             "leave nobody to manage accounts. Make another account "
                             "administrator first.")


def set_active(session: Session, username: str, active: bool, actor: Actor) -> User:
    """Disable (or re-enable) an account; a disabled account cannot sign in. Disabling the
    last active administrator is refused (``LastAdminError``)."""
    user = _require(session, username)
    if not active:
        _keep_an_admin(session, user, "disabling the account")
    was_admin = user.role == ADMIN and user.active
    user.active = active
    if active:
        user.failed_attempts, user.locked_until = 0, None
    session.flush()
    if was_admin and not active:
        _still_an_admin(session, user.username, "disabling the account")
    if not active:  # every browser signed in to it is signed out at its next click
        sessions.end_all_for(session, user.username, "disabled", by=actor.username)
    audit.record(session, actor, "user_enable" if active else "user_disable", SECURITY,
                 detail=user.username)
    return user


def set_role(session: Session, username: str, role: str, actor: Actor) -> User:
    """Change an account's role (audited with the old and new role). Taking the role of
    administrator from the last active one is refused (``LastAdminError``)."""
    check_role(role)
    user = _require(session, username)
    if role != ADMIN:
        _keep_an_admin(session, user, f"making it {role}")
    old, user.role = user.role, role
    session.flush()
    if old == ADMIN and role != ADMIN:
        _still_an_admin(session, user.username, f"making it {role}")
    audit.record(session, actor, "role_change", SECURITY,
                 detail=f"{user.username}: {old} -> {role}")
    return user


def set_password(session: Session, username: str, new_password: str, actor: Actor,
                 old_password: str | None = None) -> User:
    """Change a password (and lift a lockout); users changing their own give the old one."""
    user = _require(session, username)
    if old_password is not None and not _matches(old_password, user.password_hash):
        audit.record(session, actor, "password_change", SECURITY, outcome="failure",
                     detail=f"{user.username}: wrong current password")
        raise ValueError("the current password is wrong")
    check_password_rules(new_password)
    user.password_hash = hash_password(new_password)
    user.password_changed_at = utcnow()
    user.failed_attempts, user.locked_until = 0, None  # a new password lifts a lockout
    session.flush()
    audit.record(session, actor, "password_change", SECURITY, detail=user.username)
    return user


def _matches(password: str, hashed: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode("utf-8"), hashed.encode("ascii"))
    except ValueError:  # malformed hash or a password over bcrypt's limit
        return False


@dataclass(frozen=True)
class SignIn:
    """The outcome of ``authenticate``: the account on success, otherwise why not."""

    ok: bool
    username: str
    role: str | None = None
    reason: str = ""  # "", "invalid", "throttled", "disabled"
    locked_until: datetime | None = None  # "throttled": when this address may try again


def _attempt(session: Session, name: str, password: str, now: datetime,
             settings: SecuritySettings) -> SignIn:
    user = session.scalars(select(User).where(User.username == name).with_for_update()
                           .execution_options(populate_existing=True)).one_or_none()
    if user is None:
        _matches(password, _dummy_hash(settings.bcrypt_rounds))  # same cost as a real check
        return SignIn(False, name, reason="invalid")
    if not _matches(password, user.password_hash):
        user.failed_attempts += 1  # for the administrator's view; no longer a lock
        session.flush()
        return SignIn(False, name, user.role, "invalid")
    if not user.active:
        return SignIn(False, name, user.role, "disabled")
    user.failed_attempts, user.locked_until, user.last_login_at = 0, None, now
    session.flush()
    return SignIn(True, name, user.role)


def _throttled(session: Session, name: str, password: str, verdict: throttle.Verdict,
               settings: SecuritySettings) -> SignIn:
    _matches(password, _dummy_hash(settings.bcrypt_rounds))  # no faster answer either
    audit.record(session, Actor(name or "?", None), "login", SECURITY, outcome="failure",
                 detail=f"throttled: {verdict.reason}"[:2000])
    session.commit()
    log.info("sign-in for %s throttled (%s)", name, verdict.reason)
    return SignIn(False, name, reason="throttled", locked_until=verdict.until)


def authenticate(session: Session, username: str, password: str,
                 now: datetime | None = None, source: str | None = None) -> SignIn:
    """Check a sign-in from ``source`` (the client's address; None: this machine), count
    failures and throttle (``records.security.throttle``); audited and committed."""
    settings = security_settings()
    name = (username or "").strip().lower()[:64]
    now = now or utcnow()
    verdict = throttle.check(session, source, name, now, settings)
    if not verdict.allowed:
        return _throttled(session, name, password or "", verdict, settings)
    if verdict.delay:
        time.sleep(verdict.delay)  # global back-off: slower, never refused
    for attempt in range(3):  # a concurrent sign-in to the same account: read again
        try:
            result = _attempt(session, name, password or "", now, settings)
            if result.ok:
                throttle.succeeded(session, source, name)
            elif result.reason == "invalid":
                throttle.failed(session, source, name, now)
            detail = None if result.ok else result.reason
            audit.record(session, Actor(name or "?", result.role), "login", SECURITY,
                         outcome="success" if result.ok else "failure", detail=detail)
            session.commit()
            log.info("sign-in %s for %s", "succeeded" if result.ok else "failed", name)
            return result
        except StaleDataError:
            session.rollback()
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


FIRST_ADMIN = "admin"
ADMIN_PASSWORD_VARIABLE = "KAPCDS_ADMIN_PASSWORD"


def create_first_admin(session: Session, password: str | None) -> str | None:
    """On a store without accounts, create ``admin``; return a generated password, if any.

    ``password`` (from ``KAPCDS_ADMIN_PASSWORD``) is used when given; otherwise a random one
    is generated and returned so the caller can show it once. There is no default password.
    Commits. Returns None when accounts already exist or another process made the admin.
    """
    if session.scalar(select(User.id).limit(1)) is not None:
        return None
    generated = None
    if not password:
        generated = password = secrets.token_urlsafe(18)
    try:
        create_user(session, FIRST_ADMIN, password, "admin",
                    Actor("system:first-run", SYSTEM_ROLE))
        session.commit()
    except DuplicateRecordError:
        session.rollback()
        return None
    # INFO, not WARNING: routine on every first run, audited as a user creation, and its
    # generated password is shown once on stderr by the caller (never logged).
    log.info("created the first administrator account %r", FIRST_ADMIN)
    return generated


def idle_expired(last_seen: datetime | None, now: datetime | None = None,
                 settings: SecuritySettings | None = None) -> bool:
    """Whether a signed-in session has been idle longer than the setting allows."""
    if last_seen is None:
        return True
    idle = timedelta(minutes=(settings or security_settings()).session_idle_minutes)
    return (now or utcnow()) - last_seen > idle
