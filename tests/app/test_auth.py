"""Sign-in, lockout, idle time-out, sign-out and role-filtered navigation, through app.py."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from apptest_helpers import USERS, audit_entries, sign_in, texts
from streamlit.testing.v1 import AppTest

from dashboard.services.workspace import Workspace
from dashboard.widgets.auth import AUTH_KEY
from records import policy
from records.db import session_factory
from records.policy import Actor
from records.tables import utcnow
from records.users import create_user, set_active

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
PASSWORD = "app-test password"


def _app() -> AppTest:
    return AppTest.from_file(str(APP), default_timeout=180)


def _submit(at: AppTest, username: str, password: str) -> AppTest:
    at.text_input(key="signin_username").set_value(username)
    at.text_input(key="signin_password").set_value(password)
    return at.button[0].click().run()


def test_signed_out_only_the_sign_in_form_is_reachable(kapcds_home: Path) -> None:
    at = _app()
    at.switch_page("views/candidate_review.py")  # as if the URL were typed in
    at.run()
    assert not at.exception and [t.value for t in at.title] == ["Sign in to KAP-CDS"]
    assert AUTH_KEY not in at.session_state
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("views/home.py")


def test_sign_in_form_refuses_then_admits(kapcds_home: Path, workspace: Workspace) -> None:
    at = _app()
    at.run()
    _submit(at, "test-clinician", "not the password")
    assert "Sign-in failed" in texts(at.error) and AUTH_KEY not in at.session_state
    _submit(at, "Test-Clinician", PASSWORD)
    assert not at.exception
    assert at.session_state[AUTH_KEY]["role"] == "clinician"
    assert at.title[0].value == "KAP-CDS clinician workspace"
    logins = [(e["username"], e["outcome"]) for e in audit_entries(workspace, action="login")]
    assert logins[-2:] == [("test-clinician", "failure"), ("test-clinician", "success")]


def test_five_failures_lock_the_account(kapcds_home: Path, workspace: Workspace) -> None:
    with session_factory(workspace.engine)() as session:
        create_user(session, "lock-me", PASSWORD, "trainee", Actor("app-tests", "system"))
        session.commit()
    at = _app()
    at.run()
    for _ in range(5):
        _submit(at, "lock-me", "wrong password")
    _submit(at, "lock-me", PASSWORD)  # right password, but locked
    assert "locked for 15 minutes" in texts(at.error) and AUTH_KEY not in at.session_state
    reasons = [e["detail"] for e in audit_entries(workspace, action="login", user="lock-me")]
    assert reasons == ["invalid"] * 4 + ["locked", "locked"]


@pytest.mark.parametrize("role", policy.ROLES)
def test_navigation_holds_only_the_pages_of_the_role(kapcds_home: Path, role: str) -> None:
    at = sign_in(_app(), role)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    for page in policy.PAGES:
        exists = (APP.parent / "views" / f"{page}.py").is_file()
        if policy.may_open(role, page) and exists:
            at.switch_page(f"views/{page}.py")
        else:
            with pytest.raises(ValueError, match="Could not find a navigation page"):
                at.switch_page(f"views/{page}.py")


def test_idle_session_is_signed_out(kapcds_home: Path, workspace: Workspace) -> None:
    at = sign_in(_app(), "clinician")
    at.session_state[AUTH_KEY]["last_seen"] = utcnow() - timedelta(minutes=31)
    at.run()
    assert [t.value for t in at.title] == ["Sign in to KAP-CDS"]
    assert "Signed out after 30 minutes without activity" in texts(at.info)
    assert audit_entries(workspace, action="session_timeout")[-1]["username"] == USERS[
        "clinician"]


def test_sign_out_and_disabled_accounts(kapcds_home: Path, workspace: Workspace) -> None:
    at = sign_in(_app(), "data_scientist")
    at.run()
    at.button(key="auth_sign_out").click().run()
    assert [t.value for t in at.title] == ["Sign in to KAP-CDS"]
    assert "You are signed out." in texts(at.info)
    with session_factory(workspace.engine)() as session:
        create_user(session, "leaver", PASSWORD, "clinician", Actor("app-tests", "system"))
        session.commit()
    at = sign_in(_app(), "clinician")
    at.session_state[AUTH_KEY]["username"] = "leaver"
    at.run()
    assert at.title[0].value == "KAP-CDS clinician workspace"
    with session_factory(workspace.engine)() as session:  # an administrator disables it
        set_active(session, "leaver", False, Actor("admin", "admin"))
        session.commit()
    at.run()  # the next click
    assert [t.value for t in at.title] == ["Sign in to KAP-CDS"]
    assert "no longer active" in texts(at.info)


def test_role_change_applies_at_the_next_click(
        open_page: Callable[..., AppTest], workspace: Workspace) -> None:
    with session_factory(workspace.engine)() as session:
        create_user(session, "mover", PASSWORD, "clinician", Actor("app-tests", "system"))
        session.commit()
    at = sign_in(_app(), "clinician")
    at.session_state[AUTH_KEY]["username"] = "mover"
    at.run()
    at.switch_page("views/candidate_review.py")
    from records.users import set_role

    with session_factory(workspace.engine)() as session:
        set_role(session, "mover", "trainee", Actor("admin", "admin"))
        session.commit()
    at.run()
    assert "Candidate review" not in [t.value for t in at.title]
    assert at.session_state[AUTH_KEY]["role"] == "trainee"
