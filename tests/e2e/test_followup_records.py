"""Issue 13 in a real browser: follow-up recorded on Treatment progress, all from the store.

A responder (PHQ-9 20 → 8 over four dated induction sessions, the series ended 13 weeks ago)
is stored directly; the clinician then sets the maintenance plan, records follow-up visits
over 12 weeks and sees the relapse status change only when two consecutive visits are above
half of baseline, records a maintenance session (the session form, phase maintenance) and
sees cumulative exposure and the Kaplan–Meier curves update.
"""

from __future__ import annotations

import os
import re
import sqlite3
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import PASSWORD, USER, screenshot
from form_helpers import (
    DOSE,
    SESSION_NUMBERS,
    SESSION_YES_NO,
    choose,
    fill_monitoring,
    fill_numbers,
    pick_patient,
    type_moment,
    wait_idle,
    yes_no,
)
from playwright.sync_api import Locator, Page, expect

pytestmark = pytest.mark.e2e
expect.set_options(timeout=90_000)

PATIENT = "ZZ-FOLLOWUP-1"  # sorts after the sample ids, so other tests keep their defaults
END = (datetime.now(timezone.utc) - timedelta(weeks=13)).replace(hour=10, minute=0,
                                                                  second=0, microsecond=0)
KM_WEEKLY = re.compile(r"weekly \(n=(\d+),")


@pytest.fixture(scope="module")
def responder(server: str, e2e_home: Path) -> str:
    """A stored responder whose induction series ended 13 weeks ago (dated sessions)."""
    saved = os.environ.get("KAPCDS_HOME")
    os.environ["KAPCDS_HOME"] = str(e2e_home)
    try:
        from models.contract.schema import defaults
        from records.db import make_engine, session_factory
        from records.repository import add_patient, add_session, get_patient

        engine = make_engine(f"sqlite:///{e2e_home / 'kapcds.sqlite3'}")
        with session_factory(engine)() as session:
            if get_patient(session, PATIENT) is None:
                add_patient(session, {**defaults(), "patient_id": PATIENT, "name": "Follow Up",
                                      "phq9_baseline": 20, "planned_sessions": 4,
                                      "route": "iv", "dose_mg_per_kg": 0.5})
                for number, phq9 in enumerate((18, 14, 10, 8), start=1):
                    add_session(session, PATIENT, {
                        "session_number": number, "route": "iv", "dose_mg_per_kg": 0.5,
                        "phq9": phq9, "phq9_item9": 0, "gad7": 8, "pcl5": None, "cssrs": 0,
                        "sbp_pre": 124, "dbp_pre": 80, "hr_pre": 70, "sbp_post": 134,
                        "dbp_post": 84, "hr_post": 76, "cadss": 6, "nausea": False,
                        "vomiting": False, "headache": False, "dizziness": False,
                        "sedation": False, "minutes_to_discharge": 110,
                        "dropout_after": False,
                        "session_at": END - timedelta(days=3 * (4 - number))})
                session.commit()
        engine.dispose()
    finally:
        if saved is None:
            os.environ.pop("KAPCDS_HOME", None)
        else:
            os.environ["KAPCDS_HOME"] = saved
    return PATIENT


def _sign_in(page: Page, server: str) -> None:
    page.goto(server)
    page.get_by_role("textbox", name="Username").fill(USER)
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("decision support, not a decision").first).to_be_visible()


def _open(page: Page, title: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True).click()
    expect(page.get_by_role("heading", name=title)).to_be_visible()
    wait_idle(page)


def _form(page: Page, button: str) -> Locator:
    return page.get_by_test_id("stForm").filter(has=page.get_by_role("button", name=button))


def _tab(page: Page, name: str) -> None:
    # After a save the form is drawn anew under fresh keys (one submission token per
    # rendered form); wait for that run to finish so only the new tabs are on the page.
    wait_idle(page)
    expect(page.get_by_role("tab", name=name, exact=True)).to_have_count(1)
    page.get_by_role("tab", name=name, exact=True).click()
    page.wait_for_timeout(300)


def _date(scope: Locator, label: str, moment: datetime) -> None:
    """Type a date into Streamlit's date field (year, month and day segments)."""
    box = scope.get_by_label(re.compile(f"^{re.escape(label)}"))
    box.locator('[role="spinbutton"]').first.click()
    box.page.keyboard.type(moment.strftime("%Y%m%d"))
    box.page.keyboard.press("Tab")


def _weekly_n(page: Page) -> int:
    km = page.locator(".js-plotly-plot").filter(has_text="Kaplan–Meier")
    km.scroll_into_view_if_needed()
    expect(km).to_contain_text(KM_WEEKLY)
    match = KM_WEEKLY.search(km.text_content() or "")
    assert match is not None
    return int(match.group(1))


def _visit(page: Page, weeks: int, phq9: int) -> None:
    _tab(page, "Follow-up visit")
    page.get_by_role("button", name="Set visit date and time to now").click()
    page.wait_for_timeout(1000)
    wait_idle(page)
    _tab(page, "Follow-up visit")
    form = _form(page, "Save follow-up visit")
    _date(form, "Visit date", END + timedelta(weeks=weeks))
    form.get_by_label("PHQ-9 (points)", exact=True).fill(str(phq9))
    form.get_by_role("button", name="Save follow-up visit").click()
    page.wait_for_timeout(1000)
    wait_idle(page)
    saved = page.get_by_text(f"day {7 * weeks} after the series")
    try:
        expect(saved).to_be_visible(timeout=30_000)
    except AssertionError:
        screenshot(page, f"followup_visit_week{weeks}_failed")
        raise


def test_followup_relapse_maintenance_and_km(page: Page, server: str, responder: str,
                                             e2e_home: Path) -> None:
    _sign_in(page, server)
    _open(page, "Cohort overview")
    weekly_before = _weekly_n(page)

    _open(page, "Treatment progress")
    pick_patient(page, responder)
    _tab(page, "Maintenance plan")
    form = _form(page, "Save plan")
    choose(page, form, "Maintenance plan", "weekly")
    _date(form, "Effective from", END)
    form.get_by_role("button", name="Save plan").click()
    wait_idle(page)
    expect(page.get_by_text("Maintenance plan set to weekly.")).to_be_visible()

    for weeks, phq9 in ((2, 9), (4, 9), (8, 12)):  # one visit above 10: not yet a relapse
        _visit(page, weeks, phq9)
    status = page.get_by_test_id("stMarkdown").filter(has_text="Relapse status:")
    expect(status).to_contain_text("In response")
    expect(status).to_contain_text("one more such visit is a relapse")
    _visit(page, 12, 14)  # the second consecutive visit above half of baseline
    expect(status).to_contain_text("Relapsed: PHQ-9 above 10 on 2 consecutive visits from "
                                   "day 56")
    expect(page.get_by_text(re.compile(r"· relapse: Relapsed"))).to_be_visible()

    _tab(page, "Maintenance session")
    form = _form(page, "Save maintenance session")
    expect(form.get_by_label(DOSE, exact=True)).to_be_visible()
    # yesterday at 10:30: the 2-hour monitoring window lies in the past at any hour
    type_moment(page, form, "stDateInput", "Date",
                (date.today() - timedelta(days=1)).isoformat())
    type_moment(page, form, "stTimeInput", "Time", "10:30")
    fill_numbers(form, SESSION_NUMBERS)
    choose(page, form, "Route", "intravenous ketamine")
    for label in SESSION_YES_NO:
        yes_no(form, label, "no")
    fill_monitoring(page, form=form)  # a maintenance dose is monitored like any other
    form.get_by_role("button", name="Save maintenance session").dblclick()  # issue 23: once
    page.wait_for_timeout(1500)
    wait_idle(page)
    try:
        expect(page.get_by_text("Maintenance session 5 saved.")).to_be_visible(timeout=30_000)
    except AssertionError:
        screenshot(page, "followup_maintenance_failed")
        raise
    with sqlite3.connect(e2e_home / "kapcds.sqlite3") as conn:
        stored = conn.execute("SELECT s.session_number FROM sessions s JOIN patients p ON "
                              "p.id = s.patient_pk WHERE p.patient_id = ? AND s.phase = "
                              "'maintenance'", (PATIENT,)).fetchall()
    assert stored == [(5,)], stored  # one maintenance session for the double click
    routes = page.get_by_test_id("stTable").filter(has_text="induction + maintenance")
    expect(routes).to_contain_text("maintenance")
    expect(routes.locator("tr").filter(has_text="all routes")).to_contain_text("5")
    expect(routes.locator("tr").filter(has_text="all routes")).to_contain_text("2.5")
    heading = page.get_by_role("heading", name="Durability and long-term follow-up")
    heading.evaluate("el => el.scrollIntoView({block: 'start'})")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.wait_for_timeout(800)
    page.screenshot(path=str(screenshot(page, "followup_progress").with_name(
        "followup_progress_1280x800.png")))

    page.set_viewport_size({"width": 1500, "height": 2200})
    _open(page, "Cohort overview")
    assert _weekly_n(page) == weekly_before + 1  # the new responder joined the weekly curve
    screenshot(page, "followup_cohort_km")
