"""Issue 23 defect 1 in Chromium at 1280×800: a double click on every saving button stores
exactly one record (counted in the server's store), and the form says what was saved and
is drawn empty. Screenshots: tests/e2e/screenshots/issue23_*.png."""

from __future__ import annotations

import io
import re
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from browsing import open_menu, pick_option, sign_in, wait_idle
from conftest import PASSWORD, SCREENSHOTS, USER
from form_helpers import DOSE, fill_session, pick_patient, session_form, type_moment, yes_no
from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from base.settings import DATA_SAMPLES_DIR
from models.contract.schema import FEATURES, defaults

pytestmark = pytest.mark.e2e
expect.set_options(timeout=90_000)
ADMIN_PASSWORD = "e2e administrator password"  # the server fixture's first admin



def shot(page: Page, name: str, target: Locator | None = None) -> Path:
    """A 1280×800 screenshot with ``target`` scrolled into view."""
    if target is not None:
        target.scroll_into_view_if_needed()
        page.wait_for_timeout(400)
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"issue23_{name}.png"
    page.screenshot(path=str(path))
    return path


def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    homes = [p for p in tmp_path_factory.getbasetemp().glob("kapcds-e2e-home*")
             if not p.is_symlink() and (p / "streamlit.log").is_file()]
    assert len(homes) == 1, homes
    return homes[0] / "kapcds.sqlite3"


def count(tmp_path_factory: pytest.TempPathFactory, sql: str, *args: object) -> int:
    with sqlite3.connect(store_path(tmp_path_factory)) as conn:
        return int(conn.execute(sql, args).fetchone()[0])


def double_click(page: Page, button: Locator) -> None:
    """Two clicks in quick succession, as an impatient or trembling hand makes them."""
    button.dblclick()
    page.wait_for_timeout(1500)
    wait_idle(page)


def _form(page: Page, button: str) -> Locator:
    return page.get_by_test_id("stForm").filter(has=page.get_by_role("button", name=button))


def _label(label: str, unit: str) -> str:
    return f"{label} ({unit})" if unit else label


def _choose(page: Page, scope: Locator, label: str, option: str) -> None:
    """Pick ``option`` in a selectbox; click again if the first click only focused it (a
    number input just left reformats itself and the list may not open)."""
    box = scope.get_by_test_id("stSelectbox").filter(has=page.get_by_text(label, exact=True))
    target = page.get_by_role("option", name=option, exact=True)
    for _ in range(3):
        box.click()
        try:
            target.wait_for(state="visible", timeout=3000)
            break
        except PlaywrightTimeoutError:
            page.keyboard.press("Escape")
    target.click()


def _fill_patient(page: Page, form: Locator, name: str) -> None:
    form.get_by_role("textbox", name="Name").fill(name)
    values = {**defaults(), "age": 44, "phq9_baseline": 18}
    for spec in FEATURES:
        if spec.name == "esketamine_dose_mg":  # one Dose field: IV, so in mg/kg
            continue
        label, value = _label(spec.label, spec.unit), values[spec.name]
        if spec.name == "dose_mg_per_kg":
            label = DOSE
        if spec.dtype == "bool":
            yes_no(form, label, "yes" if value else "no")
        elif spec.dtype == "category":
            _choose(page, form, label, spec.category_label(value))
        else:
            field = form.get_by_label(label, exact=True)
            field.fill(f"{value:g}" if isinstance(value, float) else str(value))
            field.press("Tab")


PATIENTS = "SELECT COUNT(*) FROM patients"


def test_double_click_add_patient_stores_one(small: Page, server: str,
                                             tmp_path_factory: pytest.TempPathFactory) -> None:
    sign_in(small, server, USER, PASSWORD)
    open_menu(small, "Data entry")
    named = "SELECT COUNT(*) FROM patients WHERE name = 'Twice Clicked'"
    before, named_before = count(tmp_path_factory, PATIENTS), count(tmp_path_factory, named)
    form = _form(small, "Add patient")
    _fill_patient(small, form, "Twice Clicked")
    double_click(small, small.get_by_role("button", name="Add patient"))
    saved = small.get_by_text(re.compile(r"^Saved KAP-\d+\. Patient KAP-\d+ added"))
    expect(saved).to_be_visible()
    shot(small, "add_patient_saved_once", saved)
    assert count(tmp_path_factory, PATIENTS) == before + 1
    assert count(tmp_path_factory, named) == named_before + 1
    form = _form(small, "Add patient")
    expect(form.get_by_role("textbox", name="Name")).to_have_value("")  # drawn empty
    expect(form.get_by_label("Age (years)", exact=True)).to_have_value("")


def test_double_click_edit_patient_saves_one_version(
        small: Page, server: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    sign_in(small, server, USER, PASSWORD)
    open_menu(small, "Data entry")
    small.get_by_role("tab", name="Edit patient").click()
    pick_patient_edit(small, "KAP-00033")
    sql = "SELECT version FROM patients WHERE patient_id = 'KAP-00033'"
    before = count(tmp_path_factory, sql)
    form = _form(small, "Save changes")
    form.get_by_label("Body-mass index (kg/m²)", exact=True).fill("28.5")
    double_click(small, small.get_by_role("button", name="Save changes"))
    expect(small.get_by_text(f"Patient KAP-00033 saved (version {before + 1}).")).to_be_visible()
    expect(small.get_by_text(re.compile("someone else saved"))).to_have_count(0)
    assert count(tmp_path_factory, sql) == before + 1


def pick_patient_edit(page: Page, patient_id: str) -> None:
    box = page.get_by_test_id("stSelectbox").filter(
        has=page.get_by_text("Patient to edit", exact=True))
    box.click()
    page.keyboard.type(patient_id)
    page.get_by_role("option", name=re.compile(f"^{re.escape(patient_id)} ")).click()
    page.wait_for_timeout(1000)
    wait_idle(page)


DECISIONS = ("SELECT COUNT(*) FROM decisions d JOIN patients p ON p.id = d.patient_pk "
             "WHERE p.patient_id = ?")


def test_double_click_record_decision_appends_one(
        small: Page, server: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    sign_in(small, server, USER, PASSWORD)
    open_menu(small, "Candidate review")
    small.get_by_label("Search by patient id or name").fill("KAP-00013")
    small.keyboard.press("Enter")
    wait_idle(small)
    expect(small.get_by_text("Largest effects on response")).to_be_visible()
    small.wait_for_timeout(1500)
    wait_idle(small)
    before = count(tmp_path_factory, DECISIONS, "KAP-00013")
    form = _form(small, "Record decision")
    form.get_by_text("do not proceed", exact=True).click()
    form.get_by_label(re.compile("^Reason")).fill("Double-click test")
    double_click(small, small.get_by_role("button", name="Record decision"))
    saved = small.get_by_text(re.compile(r"^Decision recorded: .*saved as decision #\d+"))
    expect(saved).to_be_visible()
    shot(small, "decision_recorded", saved)
    small.wait_for_timeout(1700)  # the second click, 1.7 s later, on the new form
    small.get_by_role("button", name="Record decision").click()  # the form is empty now
    small.wait_for_timeout(1000)
    wait_idle(small)
    expect(small.get_by_text(re.compile(r"^Choose a decision"))).to_be_visible()
    shot(small, "decision_saved_once", small.get_by_text("Decisions so far"))
    assert count(tmp_path_factory, DECISIONS, "KAP-00013") == before + 1  # append-only


SESSIONS = ("SELECT COUNT(*) FROM sessions s JOIN patients p ON p.id = s.patient_pk "
            "WHERE p.patient_id = ?")


def test_double_click_save_session_and_correction_store_one(
        small: Page, server: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    sign_in(small, server, USER, PASSWORD)
    open_menu(small, "Treatment progress")
    pick_patient(small, "KAP-00030")  # 1 of 10 sessions
    before = count(tmp_path_factory, SESSIONS, "KAP-00030")
    fill_session(small, day="30")
    double_click(small, small.get_by_role("button", name="Save session"))
    expect(small.get_by_text(f"Session {before + 1} saved.")).to_be_visible()
    assert count(tmp_path_factory, SESSIONS, "KAP-00030") == before + 1
    expect(session_form(small).get_by_label("PHQ-9 (points)", exact=True)).to_have_value("")
    shot(small, "session_saved_once", small.get_by_text(f"Session {before + 1} saved."))

    version = ("SELECT s.version FROM sessions s JOIN patients p ON p.id = s.patient_pk "
               "WHERE p.patient_id = 'KAP-00030' AND s.session_number = 1")
    was = count(tmp_path_factory, version)
    small.get_by_text("Correct a recorded session").click()
    form = _form(small, "Save correction")
    form.get_by_label("Notes", exact=True).fill("corrected by a double click")
    double_click(small, small.get_by_role("button", name="Save correction"))
    expect(small.get_by_text(f"Session 1 corrected (saved as version {was + 1}).")) \
        .to_be_visible()
    expect(small.get_by_text(re.compile("someone else saved"))).to_have_count(0)
    assert count(tmp_path_factory, version) == was + 1


def test_double_click_followup_visit_and_plan_store_one(
        small: Page, server: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    pid = "KAP-00041"
    sign_in(small, server, USER, PASSWORD)
    open_menu(small, "Treatment progress")
    pick_patient(small, pid)
    visits = ("SELECT COUNT(*) FROM followup_visits v JOIN patients p "
              "ON p.id = v.patient_pk WHERE p.patient_id = ?")
    before = count(tmp_path_factory, visits, pid)
    small.get_by_role("tab", name="Follow-up visit", exact=True).click()
    small.get_by_role("button", name="Set visit date and time to now").click()
    small.wait_for_timeout(1000)
    wait_idle(small)
    small.get_by_role("tab", name="Follow-up visit", exact=True).click()
    form = _form(small, "Save follow-up visit")
    day = form.get_by_label(re.compile(r"^Day \(days after"))
    if day.count():
        day.fill("30")
    form.get_by_label("PHQ-9 (points)", exact=True).fill("7")
    double_click(small, small.get_by_role("button", name="Save follow-up visit"))
    expect(small.get_by_text(re.compile(r"^Follow-up visit saved"))).to_be_visible()
    assert count(tmp_path_factory, visits, pid) == before + 1

    plans = ("SELECT COUNT(*) FROM maintenance_plans m JOIN patients p "
             "ON p.id = m.patient_pk WHERE p.patient_id = ?")
    before = count(tmp_path_factory, plans, pid)
    small.wait_for_timeout(1000)  # the visit's save reruns the page once more
    wait_idle(small)
    small.get_by_role("tab", name="Maintenance plan", exact=True).click()
    small.wait_for_timeout(500)
    form = _form(small, "Save plan")
    _choose(small, form, "Maintenance plan", "weekly")
    type_moment(small, form, "stDateInput", "Effective from", "2026-11-02")
    form.get_by_label(re.compile("^Reason")).fill("double-click test")
    double_click(small, small.get_by_role("button", name="Save plan"))
    expect(small.get_by_text("Maintenance plan set to weekly.")).to_be_visible()
    shot(small, "plan_saved_once", small.get_by_text("Maintenance plan set to weekly."))
    assert count(tmp_path_factory, plans, pid) == before + 1


def change_account(page: Page, account: str, role: str | None = None) -> None:
    """Choose ``account`` (and ``role``) in the Users page's "Change an account" panel."""
    boxes = page.get_by_test_id("stSelectbox")
    pick_option(page, boxes.filter(has=page.get_by_text("Account", exact=True)).first,
                account)  # not SSO's
    page.wait_for_timeout(800)
    wait_idle(page)
    expect(page.get_by_text(f"New password for {account}", exact=True)).to_be_visible()
    if role is not None:
        pick_option(page, boxes.filter(has=page.get_by_text("Role", exact=True)).nth(1),
                    role)  # not Add's
        page.wait_for_timeout(800)
        wait_idle(page)


def _csv_upload(tmp_path: Path) -> Path:
    frame = pd.read_csv(DATA_SAMPLES_DIR / "patients.csv", dtype=str).head(2)
    frame["patient_id"] = ["KAP-09101", "KAP-09102"]
    path = tmp_path / "patients.csv"
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def test_double_click_csv_import_stores_once(small: Page, server: str, tmp_path: Path,
                                             tmp_path_factory: pytest.TempPathFactory) -> None:
    sign_in(small, server, USER, PASSWORD)
    open_menu(small, "Data entry")
    small.get_by_role("tab", name="Import CSV").click()
    before = count(tmp_path_factory, PATIENTS)
    uploader = small.get_by_test_id("stFileUploader").filter(has_text="Patients CSV")
    uploader.locator("input[type=file]").set_input_files(str(_csv_upload(tmp_path)))
    small.wait_for_timeout(1000)
    wait_idle(small)
    double_click(small, small.get_by_role("button", name="Import", exact=True))
    expect(small.get_by_text(re.compile(r"Imported 2 patients and 0 sessions"))).to_be_visible()
    expect(small.get_by_text(re.compile("Nothing was imported"))).to_have_count(0)
    assert count(tmp_path_factory, PATIENTS) == before + 2


def test_double_click_users_add_and_set_role_store_one(
        small: Page, server: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    sign_in(small, server, "admin", ADMIN_PASSWORD)
    open_menu(small, "Users")
    users = "SELECT COUNT(*) FROM users"
    before = count(tmp_path_factory, users)
    form = _form(small, "Add")
    form.get_by_role("textbox", name="Username").fill("double.clicker")
    _choose(small, form, "Role", "trainee")
    form.get_by_label("Initial password").fill("a fine long password")
    double_click(small, small.get_by_role("button", name="Add", exact=True))
    expect(small.get_by_text("Account double.clicker added.")).to_be_visible()
    expect(small.get_by_text(re.compile("already exists"))).to_have_count(0)
    assert count(tmp_path_factory, users) == before + 1

    changes = ("SELECT COUNT(*) FROM audit_log WHERE action = 'role_change' "
               "AND detail LIKE 'double.clicker:%'")
    change_account(small, "double.clicker", "clinician")  # a raise: nothing to confirm
    double_click(small, small.get_by_role("button", name="Set role"))
    expect(small.get_by_text("double.clicker is now clinician.")).to_be_visible()
    assert count(tmp_path_factory, changes) == 1
