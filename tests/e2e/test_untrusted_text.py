"""Issue 17 point 4 in a real browser: hostile text in a name, a decision reason, a FHIR upload
and a scenario title reaches every page as text — no link, no image, no bold, no request.

The DOM is inspected after each page renders; every request the browser makes is watched
so an image that would be fetched from outside fails the test even if it were hidden.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from browsing import open_menu, sign_in, wait_idle
from conftest import PASSWORD, USER, screenshot
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e
expect.set_options(timeout=90_000)

EVIL = "evil.example"
HOSTILE = (f"**Bold** [link](http://{EVIL}/a) ![pic](http://{EVIL}/m.png) <b>tag</b> "
           f"<img src=http://{EVIL}/h.png> <a href='http://{EVIL}/z'>anchor</a> $x^2$ :red[red]")
PATIENT = "ZZ-HOSTILE-1"  # sorts after the sample ids, so other tests keep their defaults
_OWNER = """e => { let p = e; while (p && !(p.dataset && p.dataset.testid)) p = p.parentElement;
                  return p ? p.dataset.testid + ' ' + p.outerHTML.slice(0, 200) : '?'; }"""


@pytest.fixture(scope="module")
def hostile_patient(server: str, e2e_home: Path) -> str:
    """A stored patient whose name and decision reason are hostile (store written directly)."""
    saved = os.environ.get("KAPCDS_HOME")  # the suite's isolated home, put back below
    os.environ["KAPCDS_HOME"] = str(e2e_home)
    try:
        from models.contract.schema import defaults
        from records.db import make_engine, session_factory
        from records.decisions import record_decision
        from records.repository import add_patient, get_patient

        engine = make_engine(f"sqlite:///{e2e_home / 'kapcds.sqlite3'}")
        with session_factory(engine)() as session:
            if get_patient(session, PATIENT) is None:
                add_patient(session, {**defaults(), "patient_id": PATIENT,
                                      "name": f"Mal {HOSTILE}"})
                record_decision(session, PATIENT, decision="do_not_proceed",
                                suggested="proceed", clinician=USER,
                                reason=f"because {HOSTILE}")
                session.commit()
        engine.dispose()
    finally:  # popping it sent every later test to the real ~/.local/share/kapcds
        if saved is None:
            os.environ.pop("KAPCDS_HOME", None)
        else:
            os.environ["KAPCDS_HOME"] = saved
    return PATIENT


@pytest.fixture
def watched(page: Page) -> Iterator[tuple[Page, list[str]]]:
    """The page and every URL it requested that points outside (must stay empty)."""
    outside: list[str] = []
    page.on("request", lambda request: outside.append(request.url)
            if EVIL in request.url else None)
    yield page, outside


def _sign_in(page: Page, server: str) -> None:
    sign_in(page, server, USER, PASSWORD)


def _settle(page: Page) -> None:
    wait_idle(page, settle_ms=400)


def _assert_inert(page: Page, where: str) -> None:
    """No element built from the hostile text: links, images, bold, maths, colour."""
    links = page.locator(f"a[href*='{EVIL}']")
    assert links.count() == 0, (where, [links.nth(i).evaluate(_OWNER)
                                        for i in range(links.count())])
    assert page.locator(f"img[src*='{EVIL}']").count() == 0, where
    for tag in ("strong", "b"):
        assert page.locator(tag, has_text=re.compile(r"^(Bold|tag)$")).count() == 0, where
    assert page.locator(".katex", has_text="x").count() == 0, where


def _open(page: Page, title: str) -> None:
    open_menu(page, title, settle_ms=400)


def test_hostile_name_and_reason_stay_text(watched: tuple[Page, list[str]], server: str,
                                           hostile_patient: str) -> None:
    page, outside = watched
    _sign_in(page, server)
    _open(page, "Candidate review")
    page.get_by_label("Search by patient id or name").fill(hostile_patient)
    page.keyboard.press("Enter")
    _settle(page)
    heading = page.get_by_role("heading", name=re.compile(r"^Mal \*\*Bold\*\* \[link\]"))
    expect(heading).to_be_visible()  # the name, character for character, as text
    shown = heading.inner_text().replace("\u200b", "")  # invisible: stops autolinks
    assert f"Mal {HOSTILE}" in shown
    _assert_inert(page, "candidate review")
    screenshot(page, "hostile_candidate_review")
    for title in ("Treatment progress", "Compare patients", "Cohort overview"):
        _open(page, title)
        _assert_inert(page, title)
    assert outside == []


def test_hostile_fhir_upload_stays_text(watched: tuple[Page, list[str]], server: str,
                                        tmp_path: Path) -> None:
    page, outside = watched
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {
        "resourceType": "Patient", "id": "hostile-1", "gender": "female",
        "birthDate": "1980-02-02", "name": [{"family": HOSTILE, "given": ["Eve"]}]}}]}
    upload = tmp_path / "hostile.json"
    upload.write_text(json.dumps(bundle), encoding="utf-8")
    _sign_in(page, server)
    _open(page, "Data entry")
    page.get_by_role("tab", name="Import CSV").click()
    page.locator("input[type=file]").last.set_input_files(str(upload))
    _settle(page)
    expect(page.locator("summary", has_text="[link](http").first).to_be_visible()
    _assert_inert(page, "FHIR upload")
    screenshot(page, "hostile_fhir_upload")
    assert outside == []


def test_hostile_scenario_title_stays_text(watched: tuple[Page, list[str]],
                                           server: str) -> None:
    page, outside = watched
    _sign_in(page, server)
    _open(page, "What-if explorer")
    page.get_by_label("Scenario name").fill(HOSTILE)
    page.get_by_role("button", name="Save scenario").click()
    _settle(page)
    expect(page.get_by_test_id("stAlert").get_by_text("Saved '**Bold**", exact=False)
           .first).to_be_visible()
    _assert_inert(page, "what-if")
    assert outside == []
