"""Filling the clinical forms in a real browser, field by field, as a clinician does.

The forms start empty (issue 12), so a test that saves must enter every required value;
these helpers do it through the visible labels, never through session state.
Dates and times are typed into the inputs as a clinician would.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, timedelta

from browsing import pick_option, wait_idle
from playwright.sync_api import Locator, Page, expect

# one Dose field whose unit follows the route chosen in the same form (HAZ-240)
DOSE = "Dose — mg/kg for ketamine routes; mg for intranasal esketamine (28, 56 or 84)"
SESSION_NUMBERS = {DOSE: "0.5", "PHQ-9 (points)": "11", "PHQ-9 item 9 (points)": "0",
                   "GAD-7 (points)": "8", "C-SSRS ideation (points)": "0",
                   "Systolic BP before (mmHg)": "124", "Diastolic BP before (mmHg)": "80",
                   "Heart rate before (beats/min)": "70", "Systolic BP ~40 min (mmHg)": "134",
                   "Diastolic BP ~40 min (mmHg)": "84", "Heart rate ~40 min (beats/min)": "76",
                   "CADSS (points)": "6"}
SESSION_YES_NO = ("Nausea", "Vomiting", "Headache", "Dizziness", "Sedation",
                  "Series stopped after this session")
# The monitoring record (issue 13): required for every dosing session recorded on the form.
MONITORING_NUMBERS = {"Systolic BP before discharge (mmHg)": "126",
                      "Diastolic BP before discharge (mmHg)": "80",
                      "Lowest SpO2 (pulse oximetry) (%)": "97",
                      "Sedation (MOAA/S) at ~40 min (points)": "5",
                      "Sedation (MOAA/S) before discharge (points)": "5"}
MONITORING_YES_NO = ("Dissociation still present at discharge", "Respiratory depression",
                     "Serious adverse event", "Benzodiazepine at this session",
                     "Non-benzodiazepine hypnotic at this session",
                     "Psychostimulant at this session", "MAOI at this session")


def session_form(page: Page) -> Locator:
    """The "Record a session" form (not the correction form)."""
    return page.get_by_test_id("stForm").filter(
        has=page.get_by_role("button", name="Save session"))


def choose(page: Page, scope: Locator, label: str, option: str) -> None:
    """Pick ``option`` in the selectbox labelled ``label`` inside ``scope``."""
    box = scope.get_by_test_id("stSelectbox").filter(
        has=page.get_by_text(label, exact=True))
    pick_option(page, box, option)


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


def type_moment(page: Page, scope: Locator, kind: str, label: str, value: str) -> None:
    """Type ``value`` into the date or time input (``kind``: "stDateInput"/"stTimeInput")
    whose label starts with ``label`` (the clinic zone follows in brackets): a date as
    YYYY-MM-DD, a time as HH:MM into its hour and minute fields."""
    box = scope.get_by_test_id(kind).filter(has=page.get_by_text(
        re.compile(rf"^{re.escape(label)} \("), exact=True))
    if kind == "stTimeInput":
        hour, minute = value.split(":")
        for part, digits in (("hour", hour), ("minute", minute)):
            box.locator(f"[role=spinbutton][data-type={part}]").focus()
            page.keyboard.type(digits)
        page.keyboard.press("Tab")
        return
    field = box.locator("input")
    field.fill(value)  # fill focuses without a click (a click may land on the sidebar)
    field.press("Enter")
    field.press("Escape")  # close the calendar, which would swallow the next click


def fill_monitoring(page: Page, numbers: Mapping[str, str] | None = None,
                    dose: str = "10:40", ready: str = "12:45",
                    form: Locator | None = None) -> None:
    """Enter the monitoring record: dose and ready-to-leave times, BP, SpO2, MOAA/S, yes/no
    (in ``form``, default the "Record a session" form)."""
    form = form if form is not None else session_form(page)
    type_moment(page, form, "stTimeInput", "Time of dose", dose)
    type_moment(page, form, "stTimeInput", "Ready to leave", ready)
    fill_numbers(form, {**MONITORING_NUMBERS, **(numbers or {})})
    for label in MONITORING_YES_NO:
        yes_no(form, label, "no")


def fill_session(page: Page, numbers: Mapping[str, str] | None = None,
                 day: str | None = None, on: str | None = None,
                 monitoring: bool = True) -> None:
    """Enter every required field of the session form: the date typed (default yesterday,
    so a 2-hour monitoring window lies in the past at any hour), 10:30, and the
    monitoring record unless told not to."""
    form = session_form(page)
    when = on or (date.today() - timedelta(days=1)).isoformat()
    type_moment(page, form, "stDateInput", "Date", when)
    type_moment(page, form, "stTimeInput", "Time", "10:30")
    fill_numbers(form, {**SESSION_NUMBERS, **(numbers or {})})
    choose(page, form, "Route", "intravenous ketamine")
    for label in SESSION_YES_NO:
        yes_no(form, label, "no")
    if day is not None:
        form.get_by_label("Day (days since first session)", exact=True).fill(day)
    if monitoring:
        fill_monitoring(page)
