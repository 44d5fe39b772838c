"""Server-side sign-in sessions and single sign-on account matching, on every backend."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from records.errors import RecordNotFoundError
from records.security import signin_sessions as sessions
from records.security import users
from records.security.policy import Actor
from records.security.sso_accounts import match_account, set_sso, sso_sign_in
from records.tables.clinical import utcnow
from records.tables.security import AuditEntry
from records.tables.signin import SigninSession

ADMIN = Actor("root-admin", "admin")
PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def fast_bcrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAPCDS_BCRYPT_ROUNDS", "4")


@pytest.fixture
def alice(db: Session) -> str:
    users.create_user(db, "alice", PASSWORD, "clinician", ADMIN, email="Alice@Clinic.example")
    db.commit()
    return "alice"


def _actions(db: Session) -> list[tuple[str, str, str | None]]:
    return [(e.action, e.username, e.detail)
            for e in db.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def test_the_store_keeps_only_a_digest_of_the_random_token(db: Session, alice: str) -> None:
    tokens = {sessions.start(db, alice, "password", client="Firefox") for _ in range(3)}
    db.commit()
    assert len(tokens) == 3 and all(len(t) >= 43 for t in tokens)  # 32 random bytes
    stored = set(db.scalars(select(SigninSession.token_sha256)))
    assert stored == {sessions.token_digest(t) for t in tokens} and not stored & tokens
    check = sessions.check(db, next(iter(tokens)))
    assert (check.status, check.username, check.role) == ("ok", "alice", "clinician")
    assert sessions.check(db, "not-a-token").status == "unknown"
    assert sessions.check(db, None).status == "unknown"


def test_idle_sessions_end_with_the_time_out(db: Session, alice: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAPCDS_SESSION_IDLE_MINUTES", "10")
    start = utcnow()
    token = sessions.start(db, alice, "password", now=start)
    assert sessions.check(db, token, now=start + timedelta(minutes=9)).ok  # moves last seen
    assert sessions.check(db, token, now=start + timedelta(minutes=18)).ok
    late = sessions.check(db, token, now=start + timedelta(minutes=29))
    assert (late.status, late.end_reason) == ("timeout", "timeout")
    assert sessions.check(db, token, now=start + timedelta(minutes=29)).status == "ended"


def test_ending_is_final_and_covers_every_tab(db: Session, alice: str) -> None:
    token = sessions.start(db, alice, "password")
    assert sessions.end(db, token, by="alice") is True
    assert sessions.end(db, token) is False  # already ended
    ended = sessions.check(db, token)
    assert (ended.status, ended.end_reason) == ("ended", "sign_out")


def test_disabling_an_account_ends_its_sessions(db: Session, alice: str) -> None:
    tokens = [sessions.start(db, alice, "password") for _ in range(2)]
    users.set_active(db, alice, False, ADMIN)
    db.commit()
    assert [sessions.check(db, t).end_reason for t in tokens] == ["disabled", "disabled"]
    users.set_active(db, alice, True, ADMIN)  # re-enabling does not revive them
    assert [sessions.check(db, t).status for t in tokens] == ["ended", "ended"]


def test_list_and_revoke_are_audited(db: Session, alice: str) -> None:
    users.create_user(db, "bob", PASSWORD, "trainee", ADMIN)
    first = sessions.start(db, alice, "password", client="Chromium")
    sessions.start(db, "bob", "oidc")
    db.commit()
    live = sessions.list_sessions(db)
    assert sorted(r.username for r in live) == ["alice", "bob"] and all(r.active for r in live)
    target = next(r for r in live if r.username == "alice")
    assert target.client == "Chromium"
    info = sessions.revoke(db, target.id, ADMIN)
    db.commit()
    assert (info.end_reason, info.ended_by) == ("revoked", "root-admin")
    assert sessions.check(db, first).end_reason == "revoked"
    with pytest.raises(ValueError, match="already ended"):
        sessions.revoke(db, target.id, ADMIN)
    with pytest.raises(RecordNotFoundError):
        sessions.revoke(db, 999_999, ADMIN)
    assert [r.username for r in sessions.list_sessions(db)] == ["bob"]
    assert sessions.revoke_all(db, "BOB", ADMIN) == 1
    assert sessions.list_sessions(db) == []
    assert len(sessions.list_sessions(db, active_only=False)) == 2
    assert _actions(db)[-2:] == [
        ("session_revoke", "root-admin", f"session {target.id} of alice"),
        ("session_revoke", "root-admin", "all 1 session(s) of bob")]


def test_single_sign_on_matches_a_verified_email_and_binds_the_subject(
        db: Session, alice: str) -> None:
    result = sso_sign_in(db, {"sub": "idp-123", "email": "ALICE@clinic.example",
                              "email_verified": True})
    assert (result.ok, result.username, result.role) == (True, "alice", "clinician")
    assert users.get_user(db, alice).sso_subject == "idp-123"  # type: ignore[union-attr]
    assert sso_sign_in(db, {"sub": "idp-123"}).ok  # later: the subject alone
    other = sso_sign_in(db, {"sub": "someone-else", "email": "alice@clinic.example",
                             "email_verified": True})
    assert (other.ok, other.reason) == (False, "no_account")
    logins = [(a, u, d) for a, u, d in _actions(db) if a == "login"]
    assert logins == [("login", "alice", "sso"), ("login", "alice", "sso"),
                      ("login", "sso:alice@clinic.example", "sso: the account is bound to "
                                                             "another identity")]


def test_no_account_no_access(db: Session, alice: str) -> None:
    assert not sso_sign_in(db, {"sub": "x", "email": "stranger@clinic.example"}).ok
    unverified = {"sub": "y", "email": "alice@clinic.example", "email_verified": False}
    assert match_account(db, unverified) == (None, "the provider has not verified the "
                                                    "e-mail address")
    assert match_account(db, {"sub": "z", "email": "alice@clinic.example"}, "subject")[0] is None
    users.set_active(db, alice, False, ADMIN)
    disabled = sso_sign_in(db, {"sub": "z", "email": "alice@clinic.example",
                                "email_verified": True})  # issue 24: must be true
    assert (disabled.ok, disabled.reason) == (False, "disabled")
    assert users.get_user(db, alice).sso_subject is None  # type: ignore[union-attr]


def test_sso_identity_is_set_by_an_administrator_and_sso_only_accounts(db: Session) -> None:
    users.create_user(db, "sso-only", None, "trainee", ADMIN)
    assert not users.authenticate(db, "sso-only", "").ok  # no usable password
    set_sso(db, "sso-only", ADMIN, email="Trainee@Clinic.example", subject="sub-9")
    user = users.get_user(db, "sso-only")
    assert (user.email, user.sso_subject) == ("trainee@clinic.example", "sub-9")  # type: ignore
    with pytest.raises(ValueError, match="invalid e-mail"):
        set_sso(db, "sso-only", ADMIN, email="not an address")
    set_sso(db, "sso-only", ADMIN, email="", subject="")
    user = users.get_user(db, "sso-only")
    assert (user.email, user.sso_subject) == (None, None)  # type: ignore[union-attr]


def test_the_idle_watch_reads_without_touching(db: Session, alice: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 17 point 5: the dashboard's poll (still_live) is not activity: it never moves
    last_seen forward, so an unattended screen is cleared after the time-out."""
    monkeypatch.setenv("KAPCDS_SESSION_IDLE_MINUTES", "10")
    start = utcnow()
    token = sessions.start(db, alice, "password", now=start)
    db.commit()
    for minutes in (3, 6, 9):  # a poll every few minutes keeps nothing alive
        assert sessions.still_live(db, token, now=start + timedelta(minutes=minutes))
    assert not sessions.still_live(db, token, now=start + timedelta(minutes=11))
    row = db.scalars(select(SigninSession)).one()
    assert row.last_seen_at.replace(tzinfo=None) == start.replace(tzinfo=None)
    assert row.ended_at is None  # only the full check ends it (and audits the time-out)
    assert not sessions.still_live(db, None) and not sessions.still_live(db, "nope")
    sessions.end(db, token)
    assert not sessions.still_live(db, token, now=start)
