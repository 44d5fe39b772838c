"""Roles and durability in a real browser.

Each role signs in through the form and sees exactly its pages in the sidebar (computed
from ``records.security.policy`` and ``dashboard.widgets.signin.auth``), and a page outside
its role,
opened by
URL, says the role may not open it; a clinician sees the durability section on Treatment
progress and the Kaplan–Meier chart on Cohort overview.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from browsing import BANNER, add_user, server_home
from browsing import wait_idle as _wait_idle
from conftest import PASSWORD, ROOT, USER, screenshot
from playwright.sync_api import Page, expect

from dashboard.widgets.signin import auth
from records.security import policy

pytestmark = pytest.mark.e2e
expect.set_options(timeout=90_000)  # the first run of a fresh server imports LightGBM etc.

DURABILITY = "Durability and long-term follow-up"
ROLE_PASSWORD = "e2e role password"
# A page each role may not open (checked against the policy below), opened by URL.
FORBIDDEN = {policy.CLINICIAN: "audit", policy.DATA_SCIENTIST: "candidate_review",
             policy.TRAINEE: "candidate_review", policy.ADMIN: "progress"}
PATIENT_TEXT = re.compile(r"KAP-\d")  # patient ids (and the "id — name" picker options)

_NAV_TITLES = """() => Array.from(
    document.querySelectorAll('[data-testid="stSidebarNav"] a')).map(a => {
        const copy = a.cloneNode(true);  // drop the material icon (its name is text)
        copy.querySelectorAll('[data-testid="stIconMaterial"]').forEach(i => i.remove());
        return copy.textContent.trim();
    })"""

_PLOT_TRACES = """(title) => {
    for (const el of document.querySelectorAll('.js-plotly-plot')) {
        const raw = el.layout && el.layout.title && el.layout.title.text;
        const t = raw ? raw.replace(/<[^>]+>/g, '') : '';  // Streamlit bolds titles
        if (t.startsWith(title)) return (el._fullData || []).length;
    }
    return 0;
}"""


def _home(server: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return server_home(tmp_path_factory)


def _add_user(home: Path, username: str, role: str) -> None:
    add_user(home, username, role, ROLE_PASSWORD, ROOT)


def _close_dialog(page: Page) -> str:
    """Close Streamlit's modal (e.g. "Page not found") if one is open; its text."""
    dialog = page.get_by_role("dialog")
    if not dialog.count():
        return ""
    text = dialog.inner_text()
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    return text


def _sign_in(page: Page, url: str, username: str, password: str,
             shown_after: str = BANNER) -> str:
    """Sign in at ``url``; the text of a dialog shown on the way (if any)."""
    page.goto(url)
    expect(page.get_by_role("textbox", name="Username")).to_be_visible()
    page.wait_for_timeout(1000)  # a "page not found" dialog opens after the form
    shown = _close_dialog(page)
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(shown_after)).to_be_visible()
    return shown + _close_dialog(page)


def _expected_titles(role: str) -> list[str]:
    return [auth.PAGES[key][0] for key in policy.pages_for(role)
            if (auth.VIEWS / f"{key}.py").is_file()]


def _wait_for_plot(page: Page, title: str) -> int:
    """Traces of the plotly chart whose title starts with ``title``, once it is drawn."""
    page.wait_for_function(f"(t) => ({_PLOT_TRACES})(t) > 0", arg=title, timeout=90_000)
    return int(page.evaluate(_PLOT_TRACES, title))


@pytest.mark.parametrize("role", policy.ROLES)
def test_each_role_sees_only_its_pages(page: Page, server: str, role: str,
                                       tmp_path_factory: pytest.TempPathFactory) -> None:
    username = f"e2e-role-{role.replace('_', '-')}"
    _add_user(_home(server, tmp_path_factory), username, role)
    expected = _expected_titles(role)
    assert expected and expected[0] == "Home"

    _sign_in(page, server, username, ROLE_PASSWORD)
    expect(page.get_by_test_id("stSidebarNav").locator("a")).to_have_count(len(expected))
    assert page.evaluate(_NAV_TITLES) == expected
    expect(page.get_by_text(f"Signed in as {username}")).to_be_visible()
    _wait_idle(page)
    screenshot(page, f"role_{role}")

    forbidden = FORBIDDEN[role]
    assert not policy.may_open(role, forbidden)
    title = auth.PAGES[forbidden][0]
    page.context.clear_cookies()  # a fresh browser: signed out
    shown = _sign_in(page, f"{server}/{forbidden}", username, ROLE_PASSWORD,
                     shown_after="may not open this page")
    _wait_idle(page)
    shown += _close_dialog(page)
    assert "Page not found" not in shown  # the address is known, and refused plainly
    assert page.evaluate(_NAV_TITLES) == expected
    expect(page.get_by_role("heading", name=title, exact=True)).to_have_count(0)
    expect(page.get_by_text(PATIENT_TEXT)).to_have_count(0)
    assert title not in page.evaluate(_NAV_TITLES)
    screenshot(page, f"role_{role}_forbidden_{forbidden}")


def test_durability_on_progress_and_cohort(page: Page, server: str) -> None:
    _sign_in(page, server, USER, PASSWORD)
    nav = page.get_by_test_id("stSidebarNav")
    nav.get_by_role("link", name="Treatment progress", exact=True).click()
    expect(page.get_by_role("heading", name="Treatment progress")).to_be_visible()
    _wait_idle(page)
    expect(page.get_by_text(re.compile(r"^KAP-00001 · |· KAP-00001$"))).to_be_visible()
    heading = page.get_by_role("heading", name=DURABILITY)
    heading.scroll_into_view_if_needed()
    expect(heading).to_be_visible()
    assert _wait_for_plot(page, "Cumulative ketamine exposure") >= 2
    assert _wait_for_plot(page, "Long-term screens") >= 4
    exposure = page.locator(".js-plotly-plot").filter(has_text="Cumulative ketamine exposure")
    expect(exposure).to_be_visible()
    heading.evaluate("el => el.scrollIntoView({block: 'start'})")  # section at the top
    page.wait_for_timeout(500)
    screenshot(page, "durability_progress")

    nav = page.get_by_test_id("stSidebarNav")
    nav.get_by_role("link", name="Cohort overview", exact=True).click()
    expect(page.get_by_role("heading", name="Cohort overview")).to_be_visible()
    _wait_idle(page)
    heading = page.get_by_role("heading", name=DURABILITY)
    heading.scroll_into_view_if_needed()
    expect(heading).to_be_visible()
    km_title = "Still responding after the series, by maintenance plan (Kaplan–Meier"
    assert _wait_for_plot(page, km_title) >= 3  # band, band, curve per plan
    km = page.locator(".js-plotly-plot").filter(has_text="Kaplan–Meier")
    km.scroll_into_view_if_needed()
    expect(km).to_be_visible()
    screenshot(page, "durability_cohort_km")
