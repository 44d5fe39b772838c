"""Critical paths in a real browser: open a candidate and read the explanation, compare
two patients, record a session and see the chart update."""

from __future__ import annotations

import re

import pytest
from browsing import open_menu, sign_in
from browsing import wait_idle as _wait_idle
from conftest import PASSWORD, USER, screenshot
from form_helpers import fill_session, pick_patient
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e
expect.set_options(timeout=90_000)  # the first run of a fresh server imports LightGBM etc.



TITLES = {"candidate_review": "Candidate review", "compare": "Compare patients",
          "progress": "Treatment progress"}


def _open(page: Page, server: str, path: str) -> None:
    """Sign in (a fresh browser session starts signed out), then open the page's menu item."""
    sign_in(page, server, USER, PASSWORD)
    open_menu(page, TITLES[path], settle_ms=0)


_TRACE_POINTS = """([title, name]) => {
    for (const el of document.querySelectorAll('.js-plotly-plot')) {
        const raw = el.layout && el.layout.title && el.layout.title.text;
        const t = raw ? raw.replace(/<[^>]+>/g, '') : '';  // Streamlit bolds titles
        if (t.startsWith(title)) {  // _fullData: arrays decoded (data may be binary)
            const tr = (el._fullData || []).find(d => d.name === name);
            return tr && tr.x ? tr.x.length : null;
        }
    }
    return null;
}"""


def _trace_points(page: Page, chart_title: str, trace_name: str, at_least: int = 0) -> int:
    """Points of one trace of the plotly chart whose title starts with ``chart_title``.

    Waits until the chart is drawn (plotly loads lazily) and has ``at_least`` points.
    """
    page.wait_for_function(
        f"(args) => {{ const n = ({_TRACE_POINTS})(args); return n !== null && n >= "
        f"{at_least}; }}", arg=[chart_title, trace_name], timeout=90_000)
    return int(page.evaluate(_TRACE_POINTS, [chart_title, trace_name]))


def test_open_a_candidate_and_see_the_explanation(page: Page, server: str) -> None:
    _open(page, server, "candidate_review")
    page.get_by_label("Search by patient id or name").fill("KAP-00003")
    page.keyboard.press("Enter")
    _wait_idle(page)
    expect(page.get_by_text(re.compile(r"^1 of [\d,]+ patients match"))).to_be_visible()
    expect(page.get_by_text(re.compile(r"^KAP-00003 · |· KAP-00003$"))).to_be_visible()
    expect(page.get_by_text("Largest effects on response")).to_be_visible()
    expect(page.get_by_text(re.compile(r"chance of response by"))).not_to_have_count(0)
    # five of six outcomes: nausea/vomiting fails the first model's quality gate (greyed)
    assert _trace_points(page, "Predicted risks against the cohort", "this patient") == 5
    assert _trace_points(page, "Why response is predicted at", "contributions") >= 3
    screenshot(page, "candidate_review")


def test_compare_two_patients(page: Page, server: str) -> None:
    _open(page, server, "compare")
    expect(page.get_by_text("Inputs side by side")).to_be_visible()
    _wait_idle(page)
    # five of six outcomes: nausea/vomiting fails the first model's quality gate
    assert _trace_points(page, "Predicted outcomes", "KAP-00001") == 5
    assert _trace_points(page, "Predicted outcomes", "KAP-00002") == 5
    assert _trace_points(page, "What drives response, feature by feature", "KAP-00002") > 0
    expect(page.get_by_text(re.compile(r"inputs differ"))).to_be_visible()
    expect(page.get_by_test_id("stDataFrame")).to_have_count(2)
    screenshot(page, "compare")


def test_record_a_session_and_see_the_chart_update(page: Page, server: str) -> None:
    _open(page, server, "progress")
    expect(page.get_by_text("Record a session")).to_be_visible()
    _wait_idle(page)
    pick_patient(page, "KAP-00013")  # 1 of 6 planned sessions attended
    before = _trace_points(page, "PHQ-9 against", "observed PHQ-9")
    assert before >= 1
    fill_session(page, {"PHQ-9 (points)": "5"}, day="20")  # the form starts empty
    page.get_by_role("button", name="Save session").click()
    expect(page.get_by_text(re.compile(r"Session \d+ saved\."))).to_be_visible()
    _wait_idle(page)
    assert _trace_points(page, "PHQ-9 against", "observed PHQ-9", before + 1) == before + 1
    screenshot(page, "progress_after_save")


def test_download_the_pdf_report_and_the_fhir_bundle(page: Page, server: str) -> None:
    """Both downloads of a candidate, as the browser saves them; the Bundle imports whole."""
    import json

    from interop.fhir.importer.patient import import_bundle

    _open(page, server, "candidate_review")
    page.get_by_label("Search by patient id or name").fill("KAP-00003")
    page.keyboard.press("Enter")
    _wait_idle(page)
    expect(page.get_by_text(re.compile(r"^KAP-00003 · |· KAP-00003$"))).to_be_visible()
    with page.expect_download(timeout=240_000) as pdf:
        page.get_by_role("button", name="Download PDF report").click()
    assert pdf.value.suggested_filename == "KAP-00003-report.pdf"
    with open(pdf.value.path(), "rb") as handle:
        assert handle.read(5) == b"%PDF-"
    with page.expect_download(timeout=240_000) as fhir:
        page.get_by_role("button", name="Download FHIR Bundle").click()
    assert fhir.value.suggested_filename == "KAP-00003-fhir.json"
    with open(fhir.value.path(), encoding="utf-8") as handle:
        bundle = json.load(handle)
    back = import_bundle(bundle)
    assert back.missing == [] and back.sessions, back.warnings
    assert [s["session_number"] for s in back.sessions] == list(
        range(1, len(back.sessions) + 1))
    screenshot(page, "candidate_review_downloads")
