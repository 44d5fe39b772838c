"""The patient's side in Chromium at 375×812 (issue 27): the e-mailed link (read from a real
local SMTP server) opens the PHQ-9, item 9 = 1 shows the crisis notice at once, the link
then no longer works; the same with JavaScript disabled; axe-core finds no serious or
critical violation on the patient page."""

from __future__ import annotations

import email
import re
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from accessibility import AXE_JS
from aiosmtpd.controller import Controller
from net_support import free_ports
from playwright.sync_api import Page, expect

from interop.patient_app.app import create_app
from interop.patient_app.outbox import invite
from records import session_factory
from records.proms import alerts
from records.security.policy import Actor
from tests.e2e.conftest import _require_chromium
from tests.interop.prom_support import NAME, PID, store_with_patient

pytestmark = pytest.mark.e2e


APP_PORT, SMTP_PORT = free_ports(2)
BASE = f"http://127.0.0.1:{APP_PORT}"
AXE = AXE_JS  # the project's pinned axe-core (package.json)
PHONE = {"width": 375, "height": 812}


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001, N802
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture(scope="module")
def patient_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[object, Inbox]]:
    """The patient app on APP_PORT over a fresh store, and a local SMTP server."""
    _require_chromium()
    mp = pytest.MonkeyPatch()
    for name, value in {"KAPCDS_SMTP_HOST": "127.0.0.1", "KAPCDS_SMTP_PORT": str(SMTP_PORT),
                        "KAPCDS_SMTP_SECURITY": "none", "KAPCDS_SMTP_FROM": "clinic@example.org",
                        "KAPCDS_PROMS_PUBLIC_URL": BASE, "KAPCDS_CLINIC_PHONE": "+1 555 0100",
                        "KAPCDS_CLINIC_NAME": "Lakeside Ketamine Clinic"}.items():
        mp.setenv(name, value)
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=SMTP_PORT)
    smtp.start()
    engine = store_with_patient(tmp_path_factory.mktemp("proms-e2e"))
    server = uvicorn.Server(uvicorn.Config(create_app(engine), host="127.0.0.1",
                                           port=APP_PORT, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.1)
    try:
        yield engine, inbox
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        smtp.stop()
        engine.dispose()
        mp.undo()


@pytest.fixture
def phone(patient_app, chromium_browser) -> object:  # noqa: ANN001
    """The session's Chromium (a second sync Playwright would clash with its event loop)."""
    return chromium_browser


def _emailed_link(patient_app) -> str:  # noqa: ANN001
    engine, inbox = patient_app
    before = len(inbox.messages)
    with session_factory(engine)() as db:
        invite(db, PID, ["phq9"], Actor("dr_lee", "clinician"), email="patient@example.org")
    body = inbox.messages[before].get_payload(decode=True).decode("utf-8")
    return re.search(rf"{re.escape(BASE)}/q/[A-Za-z0-9_-]+", body).group(0)


def _answer_phq9_with_item9(page: Page) -> None:
    for n in range(1, 9):
        page.locator(f"#q-item{n}").get_by_label("Several days").check()
    page.locator("#q-item9").get_by_label("Several days").check()  # item 9 = 1
    page.get_by_role("button", name="Send my answers").click()


def _flow(phone, patient_app, javascript: bool) -> None:  # noqa: ANN001
    link = _emailed_link(patient_app)
    context = phone.new_context(viewport=PHONE, java_script_enabled=javascript,
                                is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        page.goto(link)
        expect(page.get_by_role("heading", name="Patient Health Questionnaire (PHQ-9)")
               ).to_be_visible()
        if javascript:  # no sideways scrolling at 375 px (WCAG 1.4.10 reflow)
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        assert NAME not in page.content() and PID not in page.content()
        _answer_phq9_with_item9(page)
        expect(page.get_by_role("heading", name="Thank you. Please read this now.")
               ).to_be_visible()
        expect(page.get_by_text("not monitored in real time").first).to_be_visible()
        expect(page.get_by_text("988").first).to_be_visible()
        page.goto(link)
        expect(page.get_by_role("heading", name="This link cannot be used")).to_be_visible()
    finally:
        context.close()
    engine, _ = patient_app
    with session_factory(engine)() as db:
        assert any(a.instrument == "phq9" and "item 9" in a.reason for a in alerts.alerts(db))


def test_emailed_link_item9_shows_crisis_notice_and_link_closes(phone, patient_app) -> None:  # noqa: ANN001
    _flow(phone, patient_app, javascript=True)


def test_same_flow_without_javascript(phone, patient_app) -> None:  # noqa: ANN001
    _flow(phone, patient_app, javascript=False)


def test_axe_finds_no_serious_or_critical_violation(phone, patient_app) -> None:  # noqa: ANN001
    if not AXE.is_file():
        message = "axe-core missing: run scripts/install-node-deps.sh"
        if __import__("os").environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    context = phone.new_context(viewport=PHONE, bypass_csp=True)  # the page allows no script
    page = context.new_page()
    try:
        results = []
        page.goto(_emailed_link(patient_app))
        for state in ("form", "errors", "crisis"):
            if state == "errors":
                page.get_by_role("button", name="Send my answers").click()
                expect(page.get_by_role("heading", name="Please check your answers")
                       ).to_be_visible()
            if state == "crisis":
                _answer_phq9_with_item9(page)
                expect(page.get_by_role("heading", name="Thank you. Please read this now.")
                       ).to_be_visible()
            page.add_script_tag(path=str(AXE))
            found = page.evaluate("async () => (await axe.run(document, {runOnly: "
                                  "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', "
                                  "'best-practice']})).violations.map(v => "
                                  "({id: v.id, impact: v.impact, n: v.nodes.length}))")
            results.append((state, found))
    finally:
        context.close()
    bad = [(state, v) for state, found in results for v in found
           if v["impact"] in ("serious", "critical")]
    assert bad == [], bad
    assert all(isinstance(found, list) for _, found in results)
