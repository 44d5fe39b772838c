"""Issue 24, attack 6: sign-in. There was no limit across accounts or per source (200
usernames in 1.3 s), anyone who knew ``admin`` could lock it for 15 minutes, forever, and
OIDC accepted ``email_verified: "false"`` (or 0) as verified and bound the account."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from records.db import make_engine, session_factory
from records.migrate import upgrade
from records.security import throttle, users
from records.security.policy import SYSTEM_ROLE, Actor
from records.security.sso_accounts import sso_sign_in
from records.tables.clinical import utcnow

PASSWORD = "the real admin's password"
ATTACKER, ADMIN_DESK = "203.0.113.9", "10.0.0.5"


@pytest.fixture
def db() -> Iterator[Session]:
    engine = make_engine()
    upgrade(engine)
    with session_factory(engine)() as session:
        users.create_user(session, "admin", PASSWORD, "admin", Actor("setup", SYSTEM_ROLE),
                          email="admin@clinic.example")
        session.commit()
        yield session
    engine.dispose()


def test_an_anonymous_caller_cannot_lock_out_the_real_user(db: Session):
    now = utcnow()
    for _ in range(30):  # forever, as far as the attacker is concerned
        users.authenticate(db, "admin", "guess", now=now, source=ATTACKER)
    assert users.authenticate(db, "admin", PASSWORD, now=now, source=ADMIN_DESK).ok
    blocked = users.authenticate(db, "admin", PASSWORD, now=now, source=ATTACKER)
    assert (blocked.ok, blocked.reason) == (False, "throttled")


def test_one_source_is_limited_across_accounts(db: Session):
    now = utcnow()
    results = [users.authenticate(db, f"user{n:03d}", "guess", now=now, source=ATTACKER)
               for n in range(200)]
    checked = [r for r in results if r.reason == "invalid"]
    assert len(checked) == throttle.SOURCE_LIMIT
    assert all(r.reason == "throttled" for r in results[throttle.SOURCE_LIMIT:])
    later = now + throttle.SOURCE_WINDOW + timedelta(minutes=2)
    assert users.authenticate(db, "admin", PASSWORD, now=later, source=ATTACKER).ok


def test_the_wait_for_one_account_grows(db: Session):
    now = utcnow().replace(second=30)
    for _ in range(5):
        assert users.authenticate(db, "admin", "guess", now=now, source=ATTACKER).reason \
            == "invalid"
    first = users.authenticate(db, "admin", "guess", now=now, source=ATTACKER)
    assert first.reason == "throttled"
    first_wait = first.locked_until - now
    after = first.locked_until + timedelta(seconds=1)
    assert users.authenticate(db, "admin", "guess", now=after, source=ATTACKER).reason \
        == "invalid"
    second = users.authenticate(db, "admin", "guess", now=after, source=ATTACKER)
    assert second.reason == "throttled" and second.locked_until - after > first_wait


def test_a_flood_from_everywhere_slows_but_never_refuses(db: Session,
                                                         monkeypatch: pytest.MonkeyPatch):
    slept: list[float] = []
    monkeypatch.setattr("records.security.users.time.sleep", slept.append)
    now = utcnow()
    for n in range(throttle.GLOBAL_LIMIT + 5):
        throttle.failed(db, f"198.51.100.{n % 250}", f"u{n}", now)
    db.commit()
    assert users.authenticate(db, "admin", PASSWORD, now=now, source=ADMIN_DESK).ok
    assert slept and 0 < slept[0] <= throttle.MAX_GLOBAL_DELAY


@pytest.mark.parametrize("verified", ["false", 0, "true", 1, None])
def test_email_verified_must_be_the_json_boolean_true(db: Session, verified: object):
    claims = {"sub": "idp-77", "email": "admin@clinic.example"}
    if verified is not None:
        claims["email_verified"] = verified
    result = sso_sign_in(db, claims)
    assert not result.ok
    assert users.get_user(db, "admin").sso_subject is None
    assert sso_sign_in(db, {**claims, "email_verified": True}).ok
