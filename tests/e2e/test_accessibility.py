"""WCAG 2.1 AA in a real browser: axe-core on every page for every role (issue 30).

Each role signs in, opens each page of its menu at 1280×800 (and the sign-in form before
that), waits for Streamlit to finish, and runs axe-core's WCAG 2.1 A/AA rules. A serious or
critical violation fails the test unless every node it names is Streamlit-owned markup listed
in ``accessibility.STREAMLIT_EXCEPTIONS`` (documented in docs/accessibility.md). The heading
structure (``accessibility.HEADING_RULES``: no skipped level) must hold on every page too.
"""

from __future__ import annotations

import pytest
from accessibility import (
    HEADING_RULES,
    blocking,
    describe,
    require_axe,
    run_axe,
    run_rules,
)
from browsing import add_user, server_home, sign_in, wait_idle
from conftest import ROOT, screenshot
from playwright.sync_api import Page, expect

from dashboard.widgets.signin import auth
from records.security import policy

pytestmark = pytest.mark.e2e
expect.set_options(timeout=90_000)

PASSWORD = "e2e accessibility password"


def _titles(role: str) -> list[str]:
    return [auth.PAGES[key][0] for key in policy.pages_for(role)
            if (auth.VIEWS / f"{key}.py").is_file()]


def _open(page: Page, index: int, title: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link").nth(index).click()
    if title == "Home":  # Home's heading names the role's workspace, not the menu entry
        expect(page.locator("h1").first).to_be_visible()
    else:
        expect(page.get_by_role("heading", name=title, exact=True)).to_be_visible()
    wait_idle(page, 2000)



def test_sign_in_form_has_no_serious_violation(small: Page, server: str) -> None:
    source = require_axe()
    small.goto(server)
    expect(small.get_by_role("textbox", name="Username")).to_be_visible()
    wait_idle(small, 1000)
    assert small.evaluate("document.documentElement.lang")  # lang is set
    found = blocking(run_axe(small, source)) + run_rules(small, source,
                                                              HEADING_RULES)
    assert not found, describe(found)


@pytest.mark.parametrize("role", policy.ROLES)
def test_every_page_of_every_role_meets_wcag_aa(small: Page, server: str, role: str,
                                                tmp_path_factory: pytest.TempPathFactory
                                                ) -> None:
    source = require_axe()
    username = f"e2e-a11y-{role.replace('_', '-')}"
    add_user(server_home(tmp_path_factory), username, role, PASSWORD, ROOT)
    sign_in(small, server, username, PASSWORD)
    wait_idle(small, 1000)
    failures = {}
    for index, title in enumerate(_titles(role)):
        _open(small, index, title)
        found = blocking(run_axe(small, source)) + run_rules(small, source,
                                                                  HEADING_RULES)
        if found:
            failures[title] = describe(found)
            screenshot(small, f"a11y_{role}_{index}")
    assert not failures, "\n".join(f"{t}:\n{v}" for t, v in failures.items())


def test_axe_catches_a_low_contrast_text(small: Page) -> None:
    """Negative control: the same helper, rules and filter fail on grey-on-white text, so a
    check that found nothing anywhere could not pass as a green test."""
    source = require_axe()
    small.set_content("<!doctype html><html lang='en'><head><title>control</title>"
                           "</head><body><main><h1>Control</h1><p style='color:#bbbbbb'>"
                           "grey on white</p></main></body></html>")
    found = blocking(run_axe(small, source))
    assert [v["id"] for v in found] == ["color-contrast"], describe(found)


def test_axe_catches_a_skipped_heading_level(small: Page) -> None:
    """Negative control for the heading rules: a title (h1) followed by an h3 is caught, and
    the same page with an h2 passes."""
    source = require_axe()
    page_html = ("<!doctype html><html lang='en'><head><title>control</title></head><body>"
                 "<main><h1>Control</h1><h{level}>Section</h{level}><p>text</p></main>"
                 "</body></html>")
    small.set_content(page_html.format(level=3))
    found = run_rules(small, source, HEADING_RULES)
    assert [v["id"] for v in found] == ["heading-order"], describe(found)
    small.set_content(page_html.format(level=2))
    assert not run_rules(small, source, HEADING_RULES)
