"""Issue 23 defect 1, the import buttons, in Chromium at 1280×800: a double click on
"Import follow-up", on the FHIR panel's "Save with gaps listed" and on its "Confirm"
stores once — counted in the server's store — and the page says what it did.
"Import follow-up" without a file says so instead of doing nothing (issue 30).
Screenshots: tests/e2e/screenshots/issue23_imports_*.png."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest
from browsing import open_menu, pick_option, sign_in, wait_idle
from conftest import PASSWORD, USER
from playwright.sync_api import Page, expect
from test_double_submit import count, double_click, shot, store_path

pytestmark = pytest.mark.e2e
expect.set_options(timeout=90_000)
VISITS = ("SELECT COUNT(*) FROM followup_visits v JOIN patients p ON p.id = v.patient_pk "
          "WHERE p.patient_id = ?")



def _open_imports(page: Page, server: str) -> None:
    sign_in(page, server, USER, PASSWORD)
    open_menu(page, "Data entry")
    page.get_by_role("tab", name="Import CSV").click()
    wait_idle(page)


def _followup_csv(factory: pytest.TempPathFactory, folder: Path) -> tuple[Path, str]:
    """One visit, a week after the latest recorded visit of a patient who has visits."""
    with sqlite3.connect(store_path(factory)) as conn:
        pid, last = conn.execute(
            "SELECT p.patient_id, MAX(v.day_after_series) FROM followup_visits v JOIN "
            "patients p ON p.id = v.patient_pk GROUP BY p.id ORDER BY p.patient_id "
            "LIMIT 1").fetchone()
    path = folder / "followup.csv"
    path.write_text(f"patient_id,day_after_series,phq9\n{pid},{int(last) + 7},6\n",
                    encoding="utf-8")
    return path, str(pid)


def test_double_click_followup_import_stores_one(
        small: Page, server: str, tmp_path: Path,
        tmp_path_factory: pytest.TempPathFactory) -> None:
    _open_imports(small, server)
    small.get_by_role("button", name="Import follow-up").click()
    wait_idle(small)
    expect(small.get_by_text(re.compile("^Choose a follow-up CSV file first"))).to_be_visible()
    path, pid = _followup_csv(tmp_path_factory, tmp_path)
    before = count(tmp_path_factory, VISITS, pid)
    uploader = small.get_by_test_id("stFileUploader").filter(has_text="Follow-up CSV")
    uploader.locator("input[type=file]").set_input_files(str(path))
    small.wait_for_timeout(1000)
    wait_idle(small)
    double_click(small, small.get_by_role("button", name="Import follow-up"))
    done = small.get_by_text(re.compile(r"^Imported 1 follow-up row"))
    expect(done).to_be_visible()
    shot(small, "imports_followup_once", done)
    assert count(tmp_path_factory, VISITS, pid) == before + 1


def _bundle(folder: Path) -> Path:
    patient = {"resourceType": "Patient", "id": "e2e-double-fhir", "gender": "female",
               "birthDate": "1979-05-02",
               "name": [{"use": "official", "family": "Twicesaved", "given": ["Rowan"]}]}
    path = folder / "bundle.json"
    path.write_text(json.dumps({"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "http://example.org/fhir/Patient/e2e-double-fhir", "resource": patient}]}),
        encoding="utf-8")
    return path


def test_double_click_fhir_save_and_confirm_store_once(
        small: Page, server: str, tmp_path: Path,
        tmp_path_factory: pytest.TempPathFactory) -> None:
    _open_imports(small, server)
    named = "SELECT COUNT(*) FROM patients WHERE name LIKE '%Twicesaved%'"
    before = count(tmp_path_factory, named)
    uploader = small.get_by_test_id("stFileUploader").filter(has_text="FHIR file")
    uploader.locator("input[type=file]").set_input_files(str(_bundle(tmp_path)))
    small.wait_for_timeout(1000)
    wait_idle(small)
    double_click(small, small.get_by_role("button", name="Save with gaps listed"))
    saved = small.get_by_text(re.compile(r"^Saved KAP-\d+ with \d+ gap"))
    expect(saved).to_be_visible()
    shot(small, "imports_fhir_saved_once", saved)
    assert count(tmp_path_factory, named) == before + 1
    pid = re.search(r"KAP-\d+", saved.inner_text()).group(0)  # type: ignore[union-attr]
    late = small.get_by_role("button", name="Save with gaps listed")
    if late.count():  # the file is still shown: a late click (a new token) adds nobody
        late.click()
        small.wait_for_timeout(1500)
        wait_idle(small)
        assert count(tmp_path_factory, named) == before + 1

    edits = ("SELECT COUNT(*) FROM audit_log WHERE action = 'patient_edit' AND patient_id = ? "
             "AND detail LIKE 'confirmed stored values%'")
    small.get_by_text(re.compile(rf"^Open gaps of {pid}")).click()
    wait_idle(small)
    fields = small.get_by_test_id("stMultiSelect").filter(
        has=small.get_by_text("Stored value is correct for", exact=True))
    shot(small, "imports_fhir_gaps", fields)
    pick_option(small, fields, re.compile("."))  # the first gap listed
    small.keyboard.press("Escape")
    wait_idle(small)
    double_click(small, small.get_by_role("button", name="Confirm", exact=True))
    assert count(tmp_path_factory, edits, pid) == 1
    expect(small.get_by_text(re.compile("already saved"))).to_have_count(0)
