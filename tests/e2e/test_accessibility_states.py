"""WCAG 2.1 AA behind the clicks, and by keyboard alone (issue 30).

``test_accessibility.py`` scans every page as first opened. Here axe-core also scans what a
click opens: every expander of an opened patient, the charts' "Data as a table" views, each
tab of Data entry and the model lab, and a form's error messages after an empty submit;
and a clinician signs in and reaches a page with the keyboard only, the focused control
visibly outlined (WCAG 2.4.7).
"""

from __future__ import annotations

import pytest
from accessibility import HEADING_RULES, blocking, describe, require_axe, run_axe, run_rules
from browsing import add_user, open_menu, server_home, sign_in, wait_idle
from conftest import PASSWORD, ROOT, USER, screenshot
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e
expect.set_options(timeout=90_000)


def _scan(page: Page, source: str, failures: dict[str, str], state: str) -> None:
    found = blocking(run_axe(page, source)) + run_rules(page, source, HEADING_RULES)
    if found:
        failures[state] = describe(found)
        screenshot(page, f"a11y_state_{len(failures)}")


def _open_everything(page: Page, most: int = 8) -> int:
    """Open every closed expander and switch on (up to ``most``) charts' tables; how many
    were opened."""
    opened = 0
    for _ in range(30):
        closed = page.locator("[data-testid='stExpander'] details:not([open]) > summary")
        if not closed.count():
            break
        closed.first.click()
        page.wait_for_timeout(200)
        opened += 1
    switches = page.get_by_text("Data as a table", exact=True)
    for index in range(min(switches.count(), most)):
        switches.nth(index).click()
        wait_idle(page, 300)
        opened += 1
    wait_idle(page, 1000)
    return opened


def test_opened_patient_sections_tabs_and_errors_meet_wcag_aa(small: Page, server: str) -> None:
    source = require_axe()
    sign_in(small, server, USER, PASSWORD)
    failures: dict[str, str] = {}
    for title in ("Candidate review", "Treatment progress"):
        open_menu(small, title, settle_ms=1500)
        assert _open_everything(small) >= 2, f"{title}: nothing to open"
        _scan(small, source, failures, f"{title}, sections and tables opened")
    open_menu(small, "Data entry", settle_ms=1500)
    small.get_by_role("button", name="Add patient", exact=True).click()  # empty: errors
    wait_idle(small, 1000)
    expect(small.get_by_test_id("stAlert").first).to_be_visible()
    _scan(small, source, failures, "Data entry, errors of an empty Add patient")
    for tab in ("Edit patient", "Import CSV"):
        small.get_by_role("tab", name=tab).click()
        wait_idle(small, 1000)
        _scan(small, source, failures, f"Data entry, {tab} tab")
    assert not failures, "\n".join(f"{s}:\n{v}" for s, v in failures.items())


def test_model_lab_tabs_meet_wcag_aa(small: Page, server: str,
                                     tmp_path_factory: pytest.TempPathFactory) -> None:
    source = require_axe()
    add_user(server_home(tmp_path_factory), "e2e-a11y-lab", "data_scientist",
             "e2e accessibility password", ROOT)
    sign_in(small, server, "e2e-a11y-lab", "e2e accessibility password")
    open_menu(small, "Model lab", settle_ms=1500)
    failures: dict[str, str] = {}
    for tab in ("Evaluate", "Compare and promote", "Governance card"):
        small.get_by_role("tab", name=tab).click()
        wait_idle(small, 1500)
        _scan(small, source, failures, f"Model lab, {tab} tab")
    assert not failures, "\n".join(f"{s}:\n{v}" for s, v in failures.items())


def test_what_if_after_a_change_meets_wcag_aa(small: Page, server: str) -> None:
    """The What-if explorer after an input is stepped (predictions, explanation and the
    dependence curve redrawn, the "changed from the patient" marks shown), with its sections
    and chart tables open. The dashboard has no dialogs (no ``st.dialog``) to scan."""
    source = require_axe()
    sign_in(small, server, USER, PASSWORD)
    open_menu(small, "What-if explorer", settle_ms=1500)
    expect(small.get_by_text("Changed: nothing yet")).to_be_visible()
    steppers = small.get_by_test_id("stNumberInputStepUp")
    assert steppers.count() >= 1, "no number input to step on What-if"
    for index in range(steppers.count()):  # the first input not already at its maximum
        if steppers.nth(index).is_enabled():
            steppers.nth(index).click()
            break
    wait_idle(small, 1500)
    expect(small.get_by_text("Changed: nothing yet")).to_have_count(0)  # redrawn with the change
    expect(small.get_by_text("Thick solid line: this scenario").first).to_be_visible()
    failures: dict[str, str] = {}
    _open_everything(small)
    _scan(small, source, failures, "What-if, after an input was changed")
    screenshot(small, "a11y_what_if_changed")
    assert not small.get_by_test_id("stException").count()
    assert not failures, "\n".join(f"{s}:\n{v}" for s, v in failures.items())


def _focus_outline(page: Page) -> str:
    """The focused element's outline or focus ring (box-shadow), as computed."""
    return page.evaluate(
        "() => { const e = document.activeElement; const s = getComputedStyle(e);"
        " return `${s.outlineStyle} ${s.outlineWidth} | ${s.boxShadow}`; }")


def test_a_clinician_signs_in_and_reaches_a_page_by_keyboard_alone(small: Page,
                                                                     server: str) -> None:
    small.goto(server)
    username = small.get_by_role("textbox", name="Username")
    expect(username).to_be_visible()
    wait_idle(small, 1000)
    for _ in range(30):  # Tab from the top of the page to the username field
        if small.evaluate("() => document.activeElement.getAttribute('aria-label')"
                          " || document.activeElement.name || ''") in ("Username", "username"):
            break
        small.keyboard.press("Tab")
    else:
        username.evaluate("e => e.focus()")
        pytest.fail("the username field is not reachable by Tab")
    small.keyboard.type(USER)
    small.keyboard.press("Tab")
    small.keyboard.type(PASSWORD)
    small.keyboard.press("Enter")
    expect(small.get_by_role("heading", level=1).first).to_be_visible()
    wait_idle(small, 1500)
    link = small.get_by_test_id("stSidebarNav").get_by_role("link", name="Treatment progress",
                                                            exact=True)
    for _ in range(120):  # Tab through the sidebar to the menu entry, then Enter
        if small.evaluate("() => (document.activeElement.getAttribute('href') || '')"
                          ".split('?')[0].endsWith('progress')"):
            break
        small.keyboard.press("Tab")
    else:
        pytest.fail("the Treatment progress menu entry is not reachable by Tab")
    outline = _focus_outline(small)  # the project's focus ring (dashboard/app.py)
    assert outline.startswith("solid 3px"), outline
    small.keyboard.press("Enter")
    expect(small.get_by_role("heading", name="Treatment progress")).to_be_visible()
    expect(link).to_be_visible()
    screenshot(small, "keyboard_reached_progress")
