"""Issue 23 defect 1, the Users page's other buttons, in Chromium at 1280×800: a double
click on Revoke, Disable, Enable, Set password and Set e-mail (single sign-on) changes the
account once — one audit entry each, counted in the server's store — and says what it did.
Screenshots: tests/e2e/screenshots/issue23_accounts_*.png."""

from __future__ import annotations

import re

import pytest
from browsing import open_menu, pick_option, sign_in, wait_idle
from playwright.sync_api import Browser, Page, expect
from test_double_submit import ADMIN_PASSWORD, change_account, count, double_click, shot
from test_roles_and_durability import ROLE_PASSWORD, _add_user, _home

pytestmark = pytest.mark.e2e
expect.set_options(timeout=90_000)
TARGET = "e2e-dbl-target"
AUDITED = "SELECT COUNT(*) FROM audit_log WHERE action = ? AND detail LIKE ?"



def _audited(factory: pytest.TempPathFactory, action: str, detail: str) -> int:
    return count(factory, AUDITED, action, detail)


def _revoke_the_targets_session(admin: Page, factory: pytest.TempPathFactory) -> None:
    box = admin.get_by_test_id("stSelectbox").filter(
        has=admin.get_by_text("Session to end", exact=True))
    pick_option(admin, box, re.compile(rf"· {re.escape(TARGET)} ·"))
    wait_idle(admin)
    double_click(admin, admin.get_by_role("button", name="Revoke"))
    ended = admin.get_by_text(re.compile(r"^Session \d+ ended"))
    expect(ended).to_be_visible()
    expect(admin.get_by_text(re.compile("has already ended"))).to_have_count(0)
    shot(admin, "accounts_revoked_once", ended)
    assert _audited(factory, "session_revoke", f"session % of {TARGET}") == 1


def test_double_clicks_on_the_account_buttons_change_once(
        browser: Browser, small: Page, server: str,
        tmp_path_factory: pytest.TempPathFactory) -> None:
    _add_user(_home(server, tmp_path_factory), TARGET, "clinician")
    target = browser.new_context(viewport={"width": 1280, "height": 800})
    try:  # the account signs in somewhere: a session an administrator can end
        sign_in(target.new_page(), server, TARGET, ROLE_PASSWORD)
        sign_in(small, server, "admin", ADMIN_PASSWORD)
        open_menu(small, "Users")
        _revoke_the_targets_session(small, tmp_path_factory)
    finally:
        target.close()

    change_account(small, TARGET)
    double_click(small, small.get_by_role("button", name="Disable"))
    expect(small.get_by_text(f"{TARGET} disabled.")).to_be_visible()
    assert _audited(tmp_path_factory, "user_disable", TARGET) == 1
    change_account(small, TARGET)
    expect(small.get_by_text("Stored role: clinician (disabled).")).to_be_visible()
    double_click(small, small.get_by_role("button", name="Enable"))
    expect(small.get_by_text(f"{TARGET} enabled (unlocked).")).to_be_visible()
    assert _audited(tmp_path_factory, "user_enable", TARGET) == 1

    change_account(small, TARGET)
    small.get_by_label(f"New password for {TARGET}").fill("another fine long password")
    double_click(small, small.get_by_role("button", name="Set password"))
    expect(small.get_by_text(f"Password of {TARGET} changed.")).to_be_visible()
    expect(small.get_by_text(re.compile("already saved"))).to_have_count(0)
    assert _audited(tmp_path_factory, "password_change", TARGET) == 1

    sso = small.get_by_test_id("stForm").filter(
        has=small.get_by_role("button", name="Set e-mail"))
    pick_option(small, sso.get_by_test_id("stSelectbox"), TARGET)
    sso.get_by_label("E-mail for single sign-on (empty clears it)").fill(
        "dbl.target@clinic.example")
    double_click(small, small.get_by_role("button", name="Set e-mail"))
    done = small.get_by_text(f"Single sign-on e-mail of {TARGET} set.")
    expect(done).to_be_visible()
    shot(small, "accounts_sso_once", done)
    assert _audited(tmp_path_factory, "user_sso", f"{TARGET}:%") == 1
