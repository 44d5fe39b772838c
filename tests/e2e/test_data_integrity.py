"""Issue 12 in a real browser at 1280×800: forms start empty and refuse to save next to each
empty field, a decision carries the signed-in user, a session past the plan asks for
confirmation. Screenshots of each page go to tests/e2e/screenshots/ (issue12_*.png)."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from browsing import open_menu, sign_in
from conftest import PASSWORD, SCREENSHOTS, USER
from form_helpers import (
    DOSE,
    fill_numbers,
    fill_session,
    pick_patient,
    session_form,
    wait_idle,
    yes_no,
)
from playwright.sync_api import Locator, Page, expect

pytestmark = pytest.mark.e2e
expect.set_options(timeout=90_000)

TITLES = {"candidate_review": "Candidate review", "progress": "Treatment progress",
          "data_entry": "Data entry"}



def _shot(page: Page, name: str, target: object | None = None) -> Path:
    """A 1280×800 screenshot with ``target`` (a locator) scrolled into view."""
    if target is not None:
        target.scroll_into_view_if_needed()  # type: ignore[attr-defined]
        page.wait_for_timeout(400)
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"issue12_{name}.png"
    page.screenshot(path=str(path))
    return path


def _open(page: Page, server: str, key: str) -> None:
    sign_in(page, server, USER, PASSWORD)
    open_menu(page, TITLES[key])


def _store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The e2e server's SQLite store (its one ``kapcds-e2e-home`` temp folder)."""
    homes = [p for p in tmp_path_factory.getbasetemp().glob("kapcds-e2e-home*")
             if not p.is_symlink() and (p / "streamlit.log").is_file()]
    assert len(homes) == 1, homes
    return homes[0] / "kapcds.sqlite3"


def _error_after(scope: Locator, label: str) -> Locator:
    """The first error message after the input labelled ``label``: the one right under it
    (each field's message slot follows the field in its column)."""
    field = scope.get_by_label(label, exact=True)
    return field.locator("xpath=following::*[@role='alert'][1]")


def test_session_form_starts_empty_and_refuses_to_save(small: Page, server: str) -> None:
    _open(small, server, "progress")
    pick_patient(small, "KAP-00005")  # 1 of 10 sessions attended
    form = session_form(small)
    for label in ("PHQ-9 (points)", "GAD-7 (points)", "Systolic BP before (mmHg)",
                  "Heart rate ~40 min (beats/min)", DOSE):
        field = form.get_by_label(label, exact=True)
        expect(field).to_have_count(1)  # the previous patient's form has gone
        expect(field).to_have_value("")
    _shot(small, "progress_form_empty", small.get_by_role("button", name="Save session"))
    _shot(small, "progress_form_top", small.get_by_role("button",
                                                         name="Set date and time to now"))
    fill_numbers(form, {"Systolic BP ~40 min (mmHg)": "150"})  # only the BP, as in the issue
    small.get_by_role("button", name="Save session").click()
    wait_idle(small)
    expect(form.get_by_text("Nothing was saved: correct the fields marked below.")).to_be_visible()
    expect(_error_after(form, "PHQ-9 (points)")).to_contain_text(
        "Required: enter an integer from 0 to 27 points.")
    expect(_error_after(form, "Heart rate before (beats/min)")).to_contain_text(
        "Required: enter an integer from 30 to 200 beats/min.")
    expect(form.get_by_text("Enter the date and time of the session (clinic time).")) \
        .to_be_visible()
    expect(small.get_by_text(re.compile(r"Session \d+ saved\."))).to_have_count(0)
    _shot(small, "progress_form_refused", form.get_by_label("PHQ-9 (points)", exact=True))


def test_add_patient_starts_empty_and_refuses(small: Page, server: str) -> None:
    _open(small, server, "data_entry")
    form = small.get_by_test_id("stForm").filter(
        has=small.get_by_role("button", name="Add patient"))
    for label in ("Age (years)", "Baseline PHQ-9 (points)", "Screening systolic BP (mmHg)",
                  DOSE):
        expect(form.get_by_label(label, exact=True)).to_have_value("")
    _shot(small, "data_entry_empty", form.get_by_label("Age (years)", exact=True))
    small.get_by_role("textbox", name="Name").fill("Ada Browser")
    fill_numbers(form, {"Age (years)": "51"})
    yes_no(form, "Pregnancy", "no")
    small.get_by_role("button", name="Add patient").click()
    wait_idle(small)
    expect(form.get_by_text("Nothing was saved: correct the fields marked below.")).to_be_visible()
    expect(_error_after(form, "Baseline PHQ-9 (points)")).to_contain_text(
        "Required: enter an integer from 0 to 27 points.")
    expect(small.get_by_text(re.compile(r"Patient \S+ added"))).to_have_count(0)
    _shot(small, "data_entry_refused", form.get_by_label("Baseline PHQ-9 (points)",
                                                          exact=True))


def test_the_decision_carries_the_signed_in_user(
        small: Page, server: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    _open(small, server, "candidate_review")
    small.get_by_label("Search by patient id or name").fill("KAP-00011")
    small.keyboard.press("Enter")
    wait_idle(small)
    expect(small.get_by_role("textbox", name="Clinician")).to_have_count(0)
    caption = small.get_by_text(f"Recorded as {USER} (clinician), the signed-in user.")
    expect(caption).to_be_visible()
    expect(small.get_by_text("Largest effects on response")).to_be_visible()  # page drawn
    small.wait_for_timeout(1500)
    wait_idle(small)
    small.get_by_role("button", name="Record decision").click()  # nothing chosen: refused
    expect(small.get_by_text(re.compile(r"^Choose a decision"))).to_be_visible()
    wait_idle(small)
    small.get_by_role("radiogroup", name="Decision").get_by_text("proceed", exact=True).click()
    small.get_by_role("textbox", name=re.compile(r"^Reason")).fill("Discussed with the patient")
    small.get_by_role("button", name="Record decision").click()
    expect(small.get_by_text(re.compile(r"^Decision recorded"))).to_be_visible()
    wait_idle(small)
    _shot(small, "candidate_review_decision", caption)
    with sqlite3.connect(_store(tmp_path_factory)) as conn:
        rows = conn.execute("SELECT d.clinician, d.role FROM decisions d JOIN patients p "
                            "ON p.id = d.patient_pk WHERE p.patient_id = 'KAP-00011'").fetchall()
    assert rows == [(USER, "clinician")]


def test_a_session_past_the_plan_asks_for_confirmation(
        small: Page, server: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    _open(small, server, "progress")
    pick_patient(small, "KAP-00040")  # attended all 10 planned sessions
    number = session_form(small).get_by_text("Session 11 (next; 10 planned)")  # issue 23:
    expect(number).to_be_visible()  # no warning before anything is entered, number as text
    expect(small.get_by_text(re.compile("past the plan"))).to_have_count(0)
    fill_session(small, day="40")
    small.get_by_role("button", name="Save session").click()
    wait_idle(small)
    form = session_form(small)
    expect(form.get_by_text(re.compile("^Session 11 is past the plan .*; confirm"))).to_be_visible()
    _shot(small, "progress_past_plan_refused", number)
    form.get_by_text("Record this session past the planned number of sessions").click()
    small.get_by_role("button", name="Save session").click()
    expect(small.get_by_text("Session 11 saved.")).to_be_visible()
    wait_idle(small)
    expect(small.get_by_text(re.compile(r"1 session\(s\) recorded past the plan of 10"))) \
        .to_be_visible()
    _shot(small, "progress_after_past_plan", small.get_by_text("Sessions attended"))
    _shot(small, "progress_table", small.get_by_test_id("stDataFrame").first)
    with sqlite3.connect(_store(tmp_path_factory)) as conn:
        rows = conn.execute(
            "SELECT s.session_number, s.past_plan_confirmed, s.session_at IS NOT NULL, s.day "
            "FROM sessions s JOIN patients p ON p.id = s.patient_pk "
            "WHERE p.patient_id = 'KAP-00040' AND s.session_number = 11").fetchall()
    assert rows == [(11, 1, 1, 40)]
