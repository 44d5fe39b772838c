"""Sign-in that behaves like clinic software, in a real browser (issue 15).

A page address with its patient opens after sign-in and survives a reload and a new tab
(the browser keeps only the opaque session cookie); an idle time-out and a revocation end
the session; a trainee's link to candidate review is refused and audited; administrators
see and revoke sessions on the Users page. Screenshots at 1280x800 go to screenshots/.
"""

from __future__ import annotations

import csv
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from browsing import wait_idle
from conftest import PASSWORD, ROOT, USER, screenshot
from playwright.sync_api import BrowserContext, Page, expect

pytestmark = pytest.mark.e2e
expect.set_options(timeout=90_000)

BANNER = "Model trained on synthetic data — decision support, not a decision"
OTHER_PASSWORD = "e2e signin password"
PATIENT = "KAP-00042"


def e2e_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The server fixture's KAPCDS_HOME."""
    homes = [p for p in tmp_path_factory.getbasetemp().glob("kapcds-e2e-home*")
             if not p.is_symlink() and (p / "streamlit.log").is_file()]
    assert len(homes) == 1, homes
    return homes[0]


def kapcds(home: Path, *args: str, stdin: str | None = None) -> str:
    """Run the CLI on the server's store; its stdout."""
    env = {**os.environ, "KAPCDS_HOME": str(home), "KAPCDS_BCRYPT_ROUNDS": "4"}
    env.pop("KAPCDS_DATABASE_URL", None)
    done = subprocess.run([sys.executable, "-m", "kapcds.cli", *args], input=stdin, text=True,
                          env=env, cwd=ROOT, check=True, timeout=120, capture_output=True)
    return done.stdout


def add_user(home: Path, name: str, role: str, *extra: str) -> None:
    kapcds(home, "users", "add", name, "--role", role, "--password-stdin", *extra,
           stdin=OTHER_PASSWORD + "\n")


def audit_rows(home: Path, tmp: Path, action: str) -> list[dict[str, str]]:
    out = tmp / f"audit-{action}-{time.monotonic_ns()}.csv"
    kapcds(home, "audit", "export", "--out", str(out), "--action", action)
    with open(out, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def desk(browser: object) -> Iterator[BrowserContext]:
    """A browser profile at 1280x800 (its own cookies, like one clinic workstation)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})  # type: ignore
    context.set_default_timeout(90_000)
    try:
        yield context
    finally:
        context.close()


def sign_in(page: Page, username: str, password: str) -> None:
    expect(page.get_by_role("heading", name="Sign in to KAP-CDS")).to_be_visible()
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()


def wait_for_cookie(page: Page) -> None:
    page.wait_for_function("document.cookie.includes('kapcds_session=')")


def menu_link(page: Page, title: str) -> object:
    return page.get_by_test_id("stSidebarNav").get_by_role("link", name=title)


def session_cookie(context: BrowserContext) -> dict:
    found = [c for c in context.cookies() if c["name"] == "kapcds_session"]
    assert len(found) == 1, context.cookies()
    return dict(found[0])


def test_a_patient_link_opens_after_sign_in_and_survives_reload_and_a_new_tab(
        desk: BrowserContext, server: str) -> None:
    page = desk.new_page()
    page.goto(f"{server}/progress?patient={PATIENT}")
    expect(page.get_by_role("textbox", name="Username")).to_be_visible()
    wait_idle(page)
    expect(page.get_by_role("dialog")).to_have_count(0)  # no "Page not found" any more
    screenshot(page, "signin_form")
    sign_in(page, USER, PASSWORD)
    expect(page.get_by_role("heading", name="Treatment progress")).to_be_visible()
    expect(page.get_by_text(f"· {PATIENT}", exact=False)).to_be_visible()
    assert page.url.endswith(f"/progress?patient={PATIENT}")

    wait_for_cookie(page)
    cookie = session_cookie(desk)
    assert cookie["sameSite"] == "Strict" and not cookie["secure"]  # http on loopback
    assert USER not in cookie["value"] and len(cookie["value"]) >= 43  # opaque token only
    assert 1700 < cookie["expires"] - time.time() <= 1800  # the 30-minute idle time-out

    page.reload()
    expect(page.get_by_role("heading", name="Treatment progress")).to_be_visible()
    expect(page.get_by_text(f"· {PATIENT}", exact=False)).to_be_visible()
    expect(page.get_by_text(f"Signed in as {USER}")).to_be_visible()

    tab = desk.new_page()  # a bookmark opened in a new tab of the same browser
    tab.goto(f"{server}/candidate_review?patient=KAP-00007")
    expect(tab.get_by_role("heading", name="Candidate review")).to_be_visible()
    expect(tab.get_by_text("· KAP-00007", exact=False)).to_be_visible()

    tab.get_by_role("button", name="Sign out").click()  # ends it in every tab
    expect(tab.get_by_role("heading", name="Sign in to KAP-CDS")).to_be_visible()
    menu_link(page, "Cohort overview").click()
    expect(page.get_by_role("heading", name="Sign in to KAP-CDS")).to_be_visible()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    page.reload()
    expect(page.get_by_role("heading", name="Sign in to KAP-CDS")).to_be_visible()


def _age_sessions(home: Path, username: str, minutes: int) -> None:
    """Let ``minutes`` pass for the user's sessions (their last activity moves back)."""
    when = (datetime.now(timezone.utc) - timedelta(minutes=minutes)).strftime(
        "%Y-%m-%d %H:%M:%S.%f")  # how SQLAlchemy keeps UTC times in SQLite
    with sqlite3.connect(home / "kapcds.sqlite3") as conn:
        conn.execute("UPDATE signin_sessions SET last_seen_at = ? WHERE user_id = "
                     "(SELECT id FROM users WHERE username = ?)", (when, username))


def test_idle_time_out_and_revocation_end_the_session(
        desk: BrowserContext, server: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    home = e2e_home(tmp_path_factory)
    add_user(home, "e2e-idle", "clinician")
    page = desk.new_page()
    page.goto(server)
    sign_in(page, "e2e-idle", OTHER_PASSWORD)
    expect(page.get_by_text(BANNER)).to_be_visible()
    wait_for_cookie(page)  # written just after the first signed-in render
    _age_sessions(home, "e2e-idle", 31)
    page.reload()
    expect(page.get_by_text("Signed out after 30 minutes without activity")).to_be_visible()

    sign_in(page, "e2e-idle", OTHER_PASSWORD)
    expect(page.get_by_text(BANNER)).to_be_visible()
    listed = kapcds(home, "sessions", "list", "--user", "e2e-idle")
    assert "e2e-idle" in listed and "active" in listed
    assert "ended 1 session(s)" in kapcds(home, "sessions", "revoke", "--user", "e2e-idle")
    menu_link(page, "Cohort overview").click()  # the next click
    expect(page.get_by_text("An administrator ended this session")).to_be_visible()
    page.reload()
    expect(page.get_by_role("heading", name="Sign in to KAP-CDS")).to_be_visible()


def test_a_trainee_link_to_candidate_review_is_refused_and_audited(
        desk: BrowserContext, server: str, tmp_path_factory: pytest.TempPathFactory,
        tmp_path: Path) -> None:
    home = e2e_home(tmp_path_factory)
    add_user(home, "e2e-link-trainee", "trainee")
    page = desk.new_page()
    page.goto(f"{server}/candidate_review?patient={PATIENT}")
    sign_in(page, "e2e-link-trainee", OTHER_PASSWORD)
    expect(page.get_by_text("Your role (trainee) may not open this page")).to_be_visible()
    wait_idle(page)
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(page.get_by_text(PATIENT)).to_have_count(0)
    screenshot(page, "signin_refused_link")
    denied = [r for r in audit_rows(home, tmp_path, "access_denied")
              if r["username"] == "e2e-link-trainee"]
    assert [(r["outcome"], r["detail"]) for r in denied] == [("denied", "page candidate_review")]


def test_administrators_list_and_revoke_sessions(
        desk: BrowserContext, browser: object, server: str,
        tmp_path_factory: pytest.TempPathFactory) -> None:
    home = e2e_home(tmp_path_factory)
    add_user(home, "e2e-revoked", "data_scientist")
    other = browser.new_context(viewport={"width": 1280, "height": 800})  # type: ignore
    try:
        victim = other.new_page()
        victim.goto(server)
        sign_in(victim, "e2e-revoked", OTHER_PASSWORD)
        expect(victim.get_by_text(BANNER)).to_be_visible()
        wait_for_cookie(victim)
        page = desk.new_page()
        page.goto(f"{server}/users")
        sign_in(page, "admin", "e2e administrator password")
        heading = page.get_by_role("heading", name="Sign-in sessions")
        expect(heading).to_be_visible()
        wait_idle(page)
        picker = page.get_by_test_id("stSelectbox").filter(has_text="Session to end")
        expect(picker).to_be_visible()
        expect(page.get_by_test_id("stDataFrame").last).to_be_visible()
        heading.evaluate("el => el.scrollIntoView({block: 'start'})")
        page.wait_for_timeout(1500)  # the table's canvas draws after it is attached
        screenshot(page, "signin_admin_sessions")
        picker.click()
        page.get_by_role("option").filter(has_text="e2e-revoked").first.click()
        page.get_by_role("button", name="Revoke").click()
        expect(page.get_by_text("that browser is signed out at its next click")).to_be_visible()
        victim.reload()
        expect(victim.get_by_text("An administrator ended this session")).to_be_visible()
    finally:
        other.close()
