"""Both sides in Chromium (issue 27): a patient answers item 9 = 1 on the e-mailed link at
375×812, and the clinician's Home then shows the urgent alert, which they acknowledge."""

from __future__ import annotations

import email
import os
import re
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import uvicorn
from aiosmtpd.controller import Controller
from net_support import free_ports
from playwright.sync_api import Page, expect

from dashboard.services.patients.proms import ACK_ACTIONS
from tests.e2e.browsing import pick_option, sign_in, wait_idle
from tests.e2e.conftest import PASSWORD, USER

pytestmark = pytest.mark.e2e


APP_PORT, SMTP_PORT = free_ports(2)
BASE = f"http://127.0.0.1:{APP_PORT}"
PATIENT = "KAP-99127"
ON_CALL = "on-call@lakeside.example"


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001, N802
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


def _patient(engine) -> None:  # noqa: ANN001
    from models.contract.schema import defaults
    from records.db import session_factory
    from records.repository import add_patient, add_session

    start = datetime.now(timezone.utc) - timedelta(days=4)
    with session_factory(engine)() as session:
        add_patient(session, {**defaults(), "patient_id": PATIENT, "name": "Home Answer",
                              "phq9_baseline": 20, "planned_sessions": 6})
        for n in (1, 2):
            add_session(session, PATIENT, {
                "session_number": n, "route": "iv", "dose_mg_per_kg": 0.5, "phq9": 16,
                "phq9_item9": 0, "gad7": 8, "pcl5": None, "cssrs": 0, "sbp_pre": 124,
                "dbp_pre": 80, "hr_pre": 70, "sbp_post": 134, "dbp_post": 84, "hr_post": 76,
                "cadss": 6, "nausea": False, "vomiting": False, "headache": False,
                "dizziness": False, "sedation": False, "minutes_to_discharge": 110,
                "dropout_after": False, "session_at": start + timedelta(days=3 * (n - 1))})
        session.commit()


@pytest.fixture(scope="module")
def apps(server: str, e2e_home: Path) -> Iterator[tuple[object, Inbox]]:
    """The patient app and a local SMTP server over the dashboard's own store."""
    from interop.patient_app.app import create_app
    from records.db import make_engine

    mp = pytest.MonkeyPatch()
    for name, value in {"KAPCDS_SMTP_HOST": "127.0.0.1", "KAPCDS_SMTP_PORT": str(SMTP_PORT),
                        "KAPCDS_SMTP_SECURITY": "none", "KAPCDS_SMTP_FROM": "clinic@example.org",
                        "KAPCDS_PROMS_PUBLIC_URL": BASE,
                        "KAPCDS_CLINIC_NAME": "Lakeside Ketamine Clinic",
                        "KAPCDS_URGENT_ALERT_EMAIL": ON_CALL}.items():
        mp.setenv(name, value)
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=SMTP_PORT)
    smtp.start()
    engine = make_engine(f"sqlite:///{e2e_home / 'kapcds.sqlite3'}")
    _patient(engine)
    app = uvicorn.Server(uvicorn.Config(create_app(engine), host="127.0.0.1", port=APP_PORT,
                                        log_level="warning"))
    thread = threading.Thread(target=app.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not app.started and time.monotonic() < deadline:
        time.sleep(0.1)
    try:
        yield engine, inbox
    finally:
        app.should_exit = True
        thread.join(timeout=15)
        smtp.stop()
        engine.dispose()
        mp.undo()


def test_patient_answer_reaches_the_clinicians_home(apps, browser, page: Page,  # noqa: ANN001
                                                    server: str) -> None:
    from interop.patient_app.outbox import invite
    from records.db import session_factory
    from records.security.policy import Actor

    engine, inbox = apps
    with session_factory(engine)() as db:
        invite(db, PATIENT, ["phq9"], Actor(USER, "clinician"), email="patient@example.org")
    body = inbox.messages[-1].get_payload(decode=True).decode("utf-8")
    link = re.search(rf"{re.escape(BASE)}/q/[A-Za-z0-9_-]+", body).group(0)

    phone = browser.new_context(viewport={"width": 375, "height": 812}, is_mobile=True)
    patient = phone.new_page()
    patient.goto(link)
    for n in range(1, 10):
        patient.locator(f"#q-item{n}").get_by_label("Several days").check()
    patient.get_by_role("button", name="Send my answers").click()
    expect(patient.get_by_text("not monitored in real time").first).to_be_visible()
    phone.close()
    pushed = [m for m in inbox.messages if m["To"] == ON_CALL]  # HAZ-009: pushed, not only shown
    assert len(pushed) == 1 and PATIENT in pushed[0]["Subject"], [m["To"] for m in inbox.messages]
    text = pushed[0].get_payload(decode=True).decode("utf-8")
    assert "item 9" in text and "Home Answer" not in text  # what, for whom; never the name

    sign_in(page, server, USER, PASSWORD)
    wait_idle(page)
    alert = page.get_by_text(re.compile(rf"URGENT · {PATIENT} · PHQ-9"))
    expect(alert.first).to_be_visible()
    expect(page.get_by_text("item 9 answered 1 of 3").first).to_be_visible()
    button = page.get_by_role("button", name=re.compile(r"^Acknowledge alert \d+$"))
    pick_option(page, page.get_by_test_id("stSelectbox").filter(
        has=page.get_by_text("What was done", exact=True)).first, ACK_ACTIONS[1])
    page.get_by_label("Note (optional)").first.fill("phoned, safety plan reviewed")
    button.first.click()
    wait_idle(page)
    expect(page.get_by_text(re.compile(r"Alert \d+ acknowledged by"))).to_be_visible()
    expect(page.get_by_text(re.compile(rf"URGENT · {PATIENT}"))).to_have_count(0)
    assert os.environ.get("KAPCDS_PROMS_PUBLIC_URL") == BASE
