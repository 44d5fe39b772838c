"""Accounts: bcrypt hashes, sign-in with throttling, disable, roles, passwords; all audited."""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from records.errors import DuplicateRecordError
from records.security import users
from records.security.policy import Actor
from records.tables.clinical import utcnow
from records.tables.security import AuditEntry

log = logging.getLogger(__name__)
ADMIN = Actor("root-admin", "admin")
PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def fast_bcrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAPCDS_BCRYPT_ROUNDS", "4")


@pytest.fixture
def alice(db: Session) -> str:
    users.create_user(db, "Alice", PASSWORD, "clinician", ADMIN)
    db.commit()
    return "alice"


def _log(db: Session) -> list[tuple[str, str, str, str | None]]:
    return [(e.action, e.username, e.outcome, e.detail)
            for e in db.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def test_password_is_stored_as_a_bcrypt_hash_only(db: Session, alice: str) -> None:
    user = users.get_user(db, "ALICE ")
    assert user is not None and user.username == "alice" and user.role == "clinician"
    assert user.password_hash.startswith("$2b$") and PASSWORD not in user.password_hash
    assert user.active and user.failed_attempts == 0 and user.version == 1


def test_sign_in_succeeds_and_is_audited(db: Session, alice: str) -> None:
    result = users.authenticate(db, "Alice", PASSWORD)
    assert result.ok and result.role == "clinician" and result.reason == ""
    assert users.get_user(db, alice).last_login_at is not None  # type: ignore[union-attr]
    assert _log(db) == [("user_create", "root-admin", "success", "alice as clinician"),
                        ("login", "alice", "success", None)]


def test_unknown_user_and_wrong_password_fail_alike(db: Session, alice: str) -> None:
    unknown = users.authenticate(db, "mallory", PASSWORD)
    wrong = users.authenticate(db, "alice", "not the password")
    assert (unknown.ok, unknown.reason) == (False, "invalid")
    assert (wrong.ok, wrong.reason) == (False, "invalid")
    assert _log(db)[1:] == [("login", "mallory", "failure", "invalid"),
                            ("login", "alice", "failure", "invalid")]


def test_five_failures_make_that_address_wait(db: Session, alice: str) -> None:
    """Issue 24: no account lock; the address that failed waits (30 s, doubling), the
    account stays open to the real user elsewhere (tests/security/test_signin_limits.py)."""
    now = utcnow().replace(second=0)
    for attempt in range(5):
        assert users.authenticate(db, alice, "wrong", now=now).reason == "invalid", attempt
    during = users.authenticate(db, alice, PASSWORD, now=now + timedelta(seconds=20))
    assert (during.ok, during.reason) == (False, "throttled")  # even the right password
    assert users.authenticate(db, alice, PASSWORD, now=now, source="10.0.0.7").ok
    after = users.authenticate(db, alice, PASSWORD, now=now + timedelta(minutes=2))
    assert after.ok


def test_the_throttle_follows_the_settings(db: Session, alice: str,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAPCDS_LOCKOUT_ATTEMPTS", "2")
    monkeypatch.setenv("KAPCDS_LOCKOUT_MINUTES", "1")
    now = utcnow().replace(second=0)
    users.authenticate(db, alice, "wrong", now=now)
    users.authenticate(db, alice, "wrong", now=now)
    assert users.authenticate(db, alice, PASSWORD, now=now).reason == "throttled"
    assert users.authenticate(db, alice, PASSWORD, now=now + timedelta(seconds=121)).ok


def test_a_disabled_account_cannot_sign_in(db: Session, alice: str) -> None:
    users.set_active(db, alice, False, ADMIN)
    db.commit()
    assert users.authenticate(db, alice, PASSWORD).reason == "disabled"
    users.set_active(db, alice, True, ADMIN)
    db.commit()
    assert users.authenticate(db, alice, PASSWORD).ok
    actions = [row[0] for row in _log(db)]
    assert actions == ["user_create", "user_disable", "login", "user_enable", "login"]


def test_role_changes_are_checked_and_audited(store: Engine, db: Session, alice: str) -> None:
    users.set_role(db, alice, "trainee", ADMIN)
    db.commit()
    assert users.get_user(db, alice).role == "trainee"  # type: ignore[union-attr]
    assert _log(db)[-1] == ("role_change", "root-admin", "success",
                            "alice: clinician -> trainee")
    with pytest.raises(ValueError, match="unknown role"):
        users.set_role(db, alice, "superuser", ADMIN)
    with pytest.raises((IntegrityError, DBAPIError)), store.begin() as conn:  # the CHECK
        conn.execute(text("UPDATE users SET role = 'superuser'"))


def test_password_rules_and_changes(db: Session, alice: str) -> None:
    with pytest.raises(ValueError, match="at least 12"):
        users.create_user(db, "bob", "short", "trainee", ADMIN)
    with pytest.raises(ValueError, match="at most 72 bytes"):
        users.create_user(db, "bob", "é" * 40, "trainee", ADMIN)
    with pytest.raises(ValueError, match="invalid username"):
        users.create_user(db, "bob smith", PASSWORD, "trainee", ADMIN)
    with pytest.raises(DuplicateRecordError):
        users.create_user(db, "ALICE", PASSWORD, "trainee", ADMIN)
    with pytest.raises(ValueError, match="current password is wrong"):
        users.set_password(db, alice, "a brand new passphrase", Actor(alice, "clinician"),
                           old_password="guess")
    users.set_password(db, alice, "a brand new passphrase", Actor(alice, "clinician"),
                       old_password=PASSWORD)
    db.commit()
    assert not users.authenticate(db, alice, PASSWORD).ok
    assert users.authenticate(db, alice, "a brand new passphrase").ok


def test_first_admin_is_created_once_with_the_given_or_a_generated_password(
        factory: sessionmaker[Session]) -> None:
    with factory() as db:
        generated = users.create_first_admin(db, None)
        assert generated and len(generated) >= 20
        assert users.create_first_admin(db, None) is None  # never twice
        assert users.authenticate(db, "admin", generated).role == "admin"
        assert users.create_first_admin(db, "another password!") is None


def test_first_admin_takes_the_configured_password(db: Session) -> None:
    assert users.create_first_admin(db, "configured by the operator") is None
    assert users.authenticate(db, "admin", "configured by the operator").ok


def test_idle_sessions_expire_after_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    now = utcnow()
    assert not users.idle_expired(now - timedelta(minutes=29), now)
    assert users.idle_expired(now - timedelta(minutes=31), now)
    assert users.idle_expired(None, now)
    monkeypatch.setenv("KAPCDS_SESSION_IDLE_MINUTES", "5")
    assert users.idle_expired(now - timedelta(minutes=6), now)


def test_a_password_reset_does_not_lift_a_disable(db: Session, alice: str) -> None:
    now = utcnow()
    for _ in range(5):
        users.authenticate(db, alice, "wrong", now=now, source="203.0.113.9")
    users.set_password(db, alice, "reset by the admin", ADMIN)
    db.commit()
    assert users.authenticate(db, alice, "reset by the admin", now=now).ok
    users.set_active(db, alice, False, ADMIN)
    users.set_password(db, alice, "reset once more!", ADMIN)
    db.commit()
    assert users.authenticate(db, alice, "reset once more!").reason == "disabled"


def _cost(work: Callable[[], object]) -> tuple[float, float]:
    """CPU seconds of this thread (what the check costs, unmoved by other load) and wall."""
    cpu, wall = time.thread_time(), time.perf_counter()
    work()
    return time.thread_time() - cpu, time.perf_counter() - wall


def test_unknown_user_costs_as_much_as_a_wrong_password_at_the_real_cost(
        db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    """The timing side channel: at bcrypt cost 12 (the default), an unknown username must
    not be rejected measurably faster than a wrong password (it was ~256x faster when the
    dummy hash had cost 4, a ratio near 0.01). A ratio of back-to-back pairs, not an
    absolute time, so a slow or busy machine still passes."""
    monkeypatch.setenv("KAPCDS_BCRYPT_ROUNDS", "12")
    monkeypatch.setenv("KAPCDS_LOCKOUT_ATTEMPTS", "1000")  # measure checks, not the lock
    users.create_user(db, "timed", PASSWORD, "clinician", ADMIN)
    db.commit()
    assert users.get_user(db, "timed").password_hash.startswith("$2b$12$")  # type: ignore
    unknown = lambda: users.authenticate(db, "nobody-here", "a wrong password")  # noqa: E731
    wrong = lambda: users.authenticate(db, "timed", "a wrong password")  # noqa: E731
    unknown(), wrong()  # warm up (the dummy hash is made on first use)
    pairs = [(_cost(unknown), _cost(wrong)) for _ in range(7)]
    cpu = statistics.median(u[0] / w[0] for u, w in pairs)
    wall = statistics.median(u[1] / w[1] for u, w in pairs)
    log.warning("unknown-user / wrong-password time ratio at cost 12: cpu %.3f, wall %.3f",
                cpu, wall)
    assert 0.67 < cpu < 1.5, f"unknown/wrong CPU-time ratio {cpu:.3f} (wall {wall:.3f})"
