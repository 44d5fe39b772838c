"""Filling the clinical forms in a real browser, field by field, as a clinician does.

The forms start empty (issue 12), so a test that saves must enter every required value;
these helpers do it through the visible labels, never through session state.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from browsing import wait_idle
from playwright.sync_api import Locator, Page, expect

SESSION_NUMBERS = {"Dose (mg/kg)": "0.5", "PHQ-9 (points)": "11", "PHQ-9 item 9 (points)": "0",
                   "GAD-7 (points)": "8", "C-SSRS ideation (points)": "0",
                   "Systolic BP before (mmHg)": "124", "Diastolic BP before (mmHg)": "80",
                   "Heart rate before (beats/min)": "70", "Systolic BP ~40 min (mmHg)": "134",
                   "Diastolic BP ~40 min (mmHg)": "84", "Heart rate ~40 min (beats/min)": "76",
                   "CADSS (points)": "6", "Ready to leave after (min)": "110"}
SESSION_YES_NO = ("Nausea", "Vomiting", "Headache", "Dizziness", "Sedation",
                  "Series stopped after this session")


def session_form(page: Page) -> Locator:
    """The "Record a session" form (not the correction form)."""
    return page.get_by_test_id("stForm").filter(
        has=page.get_by_role("button", name="Save session"))


def choose(page: Page, scope: Locator, label: str, option: str) -> None:
    """Pick ``option`` in the selectbox labelled ``label`` inside ``scope``."""
    box = scope.get_by_test_id("stSelectbox").filter(
        has=page.get_by_text(label, exact=True))
    box.click()
    page.get_by_role("option", name=option, exact=True).click()


def yes_no(scope: Locator, label: str, answer: str) -> None:
    """Answer a yes/no radio group."""
    group = scope.get_by_role("radiogroup", name=label)
    group.get_by_text(answer, exact=True).click()


def fill_numbers(scope: Locator, values: Mapping[str, str]) -> None:
    for label, value in values.items():
        scope.get_by_label(label, exact=True).fill(value)


def pick_patient(page: Page, patient_id: str, label: str = "Patient") -> None:
    """Choose a patient in the page's patient picker (type the id, take the match)."""
    box = page.get_by_test_id("stSelectbox").filter(has=page.get_by_text(label, exact=True))
    box.first.click()
    page.keyboard.type(patient_id)
    page.get_by_role("option", name=re.compile(f"^{re.escape(patient_id)} ")).click()
    wait_idle(page)
    expect(page.get_by_role("heading", name=re.compile(re.escape(patient_id)))).to_be_visible()
    page.wait_for_timeout(1000)  # the status widget shows only once a run takes a while
    wait_idle(page)


def fill_session(page: Page, numbers: Mapping[str, str] | None = None,
                 day: str | None = None) -> None:
    """Enter every required field of the session form; the time via the "now" button."""
    page.get_by_role("button", name="Set date and time to now").click()
    wait_idle(page)
    form = session_form(page)
    fill_numbers(form, {**SESSION_NUMBERS, **(numbers or {})})
    choose(page, form, "Route", "intravenous ketamine")
    for label in SESSION_YES_NO:
        yes_no(form, label, "no")
    if day is not None:
        form.get_by_label("Day (days since first session)", exact=True).fill(day)
