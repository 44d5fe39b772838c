"""Sign-in, lockout, server-side sessions (idle time-out, sign-out everywhere, revocation,
disabled accounts), role-filtered navigation, all through app.py.

A tab's token lives in ``st.session_state``; a reload brings it back from the cookie
(proven in a real browser in tests/e2e/test_signin_sessions.py). Here a second AppTest
holding the same token stands for a second tab or a reload.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from apptest_helpers import USERS, audit_entries, sign_in, texts
from sqlalchemy import select, update
from streamlit.testing.v1 import AppTest

from dashboard.services.workspace import Workspace
from dashboard.widgets.signin.auth import AUTH_KEY
from dashboard.widgets.signin.browser_session import TOKEN_KEY
from records.db import session_factory
from records.security import policy
from records.security.policy import Actor
from records.security.signin_sessions import revoke, token_digest
from records.security.users import create_user, set_active, set_role
from records.tables.clinical import utcnow
from records.tables.signin import SigninSession

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
PASSWORD = "app-test password"
SIGN_IN = ["Sign in to KAP-CDS"]


def _app() -> AppTest:
    return AppTest.from_file(str(APP), default_timeout=180)


def _submit(at: AppTest, username: str, password: str) -> AppTest:
    at.text_input(key="signin_username").set_value(username)
    at.text_input(key="signin_password").set_value(password)
    return at.button[0].click().run()


def _row(ws: Workspace, token: str) -> SigninSession:
    with session_factory(ws.engine)() as session:
        return session.scalars(select(SigninSession).where(
            SigninSession.token_sha256 == token_digest(token))).one()


def _titles(at: AppTest) -> list[str]:
    return [t.value for t in at.title]


def test_signed_out_every_address_shows_the_sign_in_form(kapcds_home: Path) -> None:
    at = _app()
    at.switch_page("views/candidate_review.py")  # as if the URL were typed in
    at.run()
    assert not at.exception and _titles(at) == SIGN_IN
    assert AUTH_KEY not in at.session_state and TOKEN_KEY not in at.session_state


def test_sign_in_form_refuses_then_opens_a_server_side_session(
        kapcds_home: Path, workspace: Workspace) -> None:
    at = _app()
    at.run()
    _submit(at, "test-clinician", "not the password")
    assert "Sign-in failed" in texts(at.error) and TOKEN_KEY not in at.session_state
    _submit(at, "Test-Clinician", PASSWORD)
    assert not at.exception
    token = at.session_state[TOKEN_KEY]
    assert at.session_state[AUTH_KEY]["role"] == "clinician"
    assert _titles(at)[0] == "KAP-CDS clinician workspace"
    row = _row(workspace, token)
    assert (row.method, row.ended_at) == ("password", None)
    assert "test-clinician" not in token and len(token) >= 40  # opaque, 256 random bits
    logins = [(e["username"], e["outcome"]) for e in audit_entries(workspace, action="login")]
    assert logins[-2:] == [("test-clinician", "failure"), ("test-clinician", "success")]


def test_five_failures_make_this_address_wait(kapcds_home: Path,
                                              workspace: Workspace) -> None:
    with session_factory(workspace.engine)() as session:
        create_user(session, "lock-me", PASSWORD, "trainee", Actor("app-tests", "system"))
        session.commit()
    at = _app()
    at.run()
    for _ in range(5):
        _submit(at, "lock-me", "wrong password")
    _submit(at, "lock-me", PASSWORD)  # right password, but this address must wait
    assert "Too many failed sign-ins from this address" in texts(at.error)
    assert TOKEN_KEY not in at.session_state  # issue 24: a wait per address, not a lock
    reasons = [e["detail"] for e in audit_entries(workspace, action="login", user="lock-me")]
    assert reasons[:5] == ["invalid"] * 5 and reasons[5].startswith("throttled: 5 failed")


@pytest.mark.parametrize("role", policy.ROLES)
def test_navigation_holds_only_the_pages_of_the_role(kapcds_home: Path, role: str) -> None:
    at = sign_in(_app(), role)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    for page in policy.PAGES:
        exists = (APP.parent / "views" / f"{page}.py").is_file()
        if policy.may_open(role, page) and exists:
            at.switch_page(f"views/{page}.py")
        else:  # only a hidden "may not open" page has that address
            with pytest.raises(ValueError, match="Could not find a navigation page"):
                at.switch_page(f"views/{page}.py")


def test_the_same_token_stays_signed_in_in_another_tab(kapcds_home: Path) -> None:
    first = sign_in(_app(), "trainee")
    first.run()
    second = _app()  # a reload or a new tab: the cookie brings the token back
    second.session_state[TOKEN_KEY] = first.session_state[TOKEN_KEY]
    second.run()
    assert _titles(second)[0] != SIGN_IN[0]
    assert second.session_state[AUTH_KEY]["username"] == USERS["trainee"]


def test_idle_session_is_signed_out(kapcds_home: Path, workspace: Workspace) -> None:
    at = sign_in(_app(), "clinician")
    token = at.session_state[TOKEN_KEY]
    with session_factory(workspace.engine)() as session:
        session.execute(update(SigninSession).where(
            SigninSession.token_sha256 == token_digest(token))
            .values(last_seen_at=utcnow() - timedelta(minutes=31)))
        session.commit()
    at.run()
    assert _titles(at) == SIGN_IN
    assert "Signed out after 30 minutes without activity" in texts(at.info)
    assert audit_entries(workspace, action="session_timeout")[-1]["username"] == USERS[
        "clinician"]
    assert _row(workspace, token).end_reason == "timeout"
    again = _app()
    again.session_state[TOKEN_KEY] = token  # the old token never works again
    again.run()
    assert _titles(again) == SIGN_IN


def test_sign_out_ends_the_session_in_every_tab(kapcds_home: Path,
                                                workspace: Workspace) -> None:
    one = sign_in(_app(), "data_scientist")
    one.run()
    other = _app()
    other.session_state[TOKEN_KEY] = one.session_state[TOKEN_KEY]
    other.run()
    token = one.session_state[TOKEN_KEY]
    one.button(key="auth_sign_out").click().run()
    assert _titles(one) == SIGN_IN and "You are signed out." in texts(one.info)
    other.run()  # the other tab's next click
    assert _titles(other) == SIGN_IN and "You are signed out." in texts(other.info)
    assert _row(workspace, token).end_reason == "sign_out"
    assert audit_entries(workspace, action="logout")[-1]["username"] == USERS[
        "data_scientist"]


def test_revoked_session_is_signed_out(kapcds_home: Path, workspace: Workspace) -> None:
    at = sign_in(_app(), "clinician")
    at.run()
    token = at.session_state[TOKEN_KEY]
    with session_factory(workspace.engine)() as session:
        revoke(session, _row(workspace, token).id, Actor("admin", "admin"))
        session.commit()
    at.run()
    assert _titles(at) == SIGN_IN
    assert "An administrator ended this session" in texts(at.info)
    assert audit_entries(workspace, action="session_revoke")[-1]["username"] == "admin"


def test_disabled_account_is_signed_out(kapcds_home: Path, workspace: Workspace) -> None:
    with session_factory(workspace.engine)() as session:
        create_user(session, "leaver", PASSWORD, "clinician", Actor("app-tests", "system"))
        session.commit()
    at = sign_in(_app(), username="leaver")
    at.run()
    assert _titles(at)[0] == "KAP-CDS clinician workspace"
    token = at.session_state[TOKEN_KEY]
    with session_factory(workspace.engine)() as session:  # an administrator disables it
        set_active(session, "leaver", False, Actor("admin", "admin"))
        session.commit()
    at.run()  # the next click
    assert _titles(at) == SIGN_IN and "no longer active" in texts(at.info)
    assert _row(workspace, token).end_reason == "disabled"


def test_role_change_applies_at_the_next_click(
        open_page: Callable[..., AppTest], workspace: Workspace) -> None:
    with session_factory(workspace.engine)() as session:
        create_user(session, "mover", PASSWORD, "clinician", Actor("app-tests", "system"))
        session.commit()
    at = sign_in(_app(), username="mover")
    at.run()
    at.switch_page("views/candidate_review.py")
    with session_factory(workspace.engine)() as session:
        set_role(session, "mover", "trainee", Actor("admin", "admin"))
        session.commit()
    at.run()
    assert "Candidate review" not in _titles(at)
    assert at.session_state[AUTH_KEY]["role"] == "trainee"
    assert "may not open this page" in texts(at.error)
    denied = audit_entries(workspace, action="access_denied", user="mover")[-1]
    assert (denied["outcome"], denied["detail"]) == ("denied", "page candidate_review")


def test_password_sign_in_can_be_turned_off(kapcds_home: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAPCDS_LOCAL_SIGNIN", "off")
    at = _app()
    at.run()
    assert not at.text_input and "Password sign-in is turned off" in texts(at.error)
