"""SMART App Launch in a real browser (issue 26): the EHR launches KAP-CDS, and the clinician
lands on Candidate review with the launched patient open — no password form.

The EHR is the stub of ``tests/smart_support.py`` (authorisation server + FHIR server on
loopback, PKCE verified at its token endpoint). A second dashboard server runs on the e2e
store with ``KAPCDS_SMART_REDIRECT_URI`` set to its own address, as a clinic would
register it; the issuer and the ``fhirUser`` mapping are added to the store through
``records.security.smart_accounts``, as the Users page does.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from browsing import BANNER, stop_process, wait_idle
from conftest import ROOT, _free_port, _wait_until_healthy, screenshot
from playwright.sync_api import BrowserContext, expect
from smart_support import (
    CLIENT_ID,
    PATIENT_ID,
    PRACTITIONER,
    SmartEhr,
    patient_record,
    running_ehr,
)
from test_signin_sessions import audit_rows, e2e_home, kapcds

pytestmark = pytest.mark.e2e
HOSTILE = "Rivera **[bold](https://evil.example/x)**"  # a family name as an EHR may hold it
expect.set_options(timeout=90_000)

ALLOW = """
import sys
from records import make_engine, session_factory
from base.settings import default_database_url
from records.security.policy import Actor
from records.security.smart_accounts import add_issuer, map_identity
engine = make_engine(default_database_url())
with session_factory(engine)() as session:
    add_issuer(session, sys.argv[1], sys.argv[2], Actor("admin", "admin"), label="Stub EHR")
    map_identity(session, sys.argv[1], sys.argv[3], "e2e-smart", Actor("admin", "admin"))
    session.commit()
"""


def _env(home: Path) -> dict[str, str]:
    env = {**os.environ, "KAPCDS_HOME": str(home), "KAPCDS_BCRYPT_ROUNDS": "4"}
    env.pop("KAPCDS_DATABASE_URL", None)
    return env


@pytest.fixture(scope="module")
def ehr() -> Iterator[SmartEhr]:
    with running_ehr() as stub:
        stub.records[PATIENT_ID] = patient_record(family=HOSTILE)
        yield stub


@pytest.fixture(scope="module")
def smart_server(server: str, ehr: SmartEhr,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A dashboard on the e2e store that the stub EHR may launch."""
    home = e2e_home(tmp_path_factory)
    kapcds(home, "users", "add", "e2e-smart", "--role", "clinician", "--sso-only")
    subprocess.run([sys.executable, "-c", ALLOW, ehr.fhir, CLIENT_ID, PRACTITIONER],
                   env=_env(home), cwd=ROOT, check=True, timeout=120)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path_factory.mktemp("smart") / "streamlit.log"
    env = _env(home) | {"KAPCDS_SMART_REDIRECT_URI": f"{url}/"}
    with open(log_path, "w", encoding="utf-8") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard" / "app.py"),
             "--server.headless", "true", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
            env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_until_healthy(url, process, log_path)
        yield url
    finally:
        stop_process(process)


@pytest.fixture
def desk(browser: object) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})  # type: ignore
    context.set_default_timeout(90_000)
    try:
        yield context
    finally:
        context.close()


def test_an_ehr_launch_lands_on_candidate_review_with_the_patient(
        desk: BrowserContext, smart_server: str, ehr: SmartEhr,
        tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    page = desk.new_page()
    page.goto(f"{smart_server}/?iss={ehr.fhir}&launch=launch-123")  # what the EHR opens
    expect(page.get_by_role("heading", name="Candidate review")).to_be_visible()
    expect(page.get_by_text("Signed in as e2e-smart")).to_be_visible()
    expect(page.get_by_text(BANNER).first).to_be_visible()
    expect(page.get_by_text("Opened from the EHR (SMART launch)")).to_be_visible()
    expect(page.get_by_role("heading").filter(has_text="Rivera **[bold](https").first
           ).to_be_visible()  # the EHR's text as text: no bold, no link
    expect(page.locator("a[href*='evil.example']")).to_have_count(0)
    expect(page.get_by_role("textbox", name="Password")).to_have_count(0)
    assert ("POST", "/token") in ehr.requests and ehr.token_errors == []
    assert ("GET", f"/fhir/Patient/{PATIENT_ID}") in ehr.requests
    page.wait_for_function("document.cookie.includes('kapcds_session=')")
    wait_idle(page, 1000)
    page.get_by_text("Import warnings (").click()
    expect(page.get_by_text("more than 365 days before").first).to_be_visible()
    page.get_by_text("Import warnings (").click()
    wait_idle(page, 500)
    screenshot(page, "smart_ehr_launch")
    page.get_by_role("heading").filter(has_text="Rivera").first.scroll_into_view_if_needed()
    wait_idle(page, 500)
    screenshot(page, "smart_ehr_launch_patient")
    home = e2e_home(tmp_path_factory)
    logins = [r for r in audit_rows(home, tmp_path, "login") if r["username"] == "e2e-smart"]
    assert [(r["outcome"], r["detail"]) for r in logins] == [
        ("success", f"smart {PRACTITIONER} on {ehr.fhir}")]
    assert "oidc" in kapcds(home, "sessions", "list", "--user", "e2e-smart")


def test_a_launch_from_an_unlisted_ehr_is_refused_with_no_request(
        desk: BrowserContext, smart_server: str, ehr: SmartEhr) -> None:
    before = len(ehr.requests)
    page = desk.new_page()
    page.goto(f"{smart_server}/?iss=https://ehr.invalid/fhir&launch=launch-123")
    expect(page.get_by_text("is not on the KAP-CDS list of allowed SMART issuers")
           ).to_be_visible()
    expect(page.get_by_text("Signed in as")).to_have_count(0)
    assert len(ehr.requests) == before


def test_a_callback_opened_in_another_browser_is_refused(
        desk: BrowserContext, browser: object, smart_server: str, ehr: SmartEhr) -> None:
    """Login CSRF: the EHR's answer to one browser's launch, sent to someone else as a link,
    must not sign that other browser in (the launch is bound to a cookie of its browser)."""
    captured: list[str] = []

    def keep(route: object) -> None:  # Playwright routes no redirect: ask the EHR ourselves
        answer = route.fetch(max_redirects=0)  # type: ignore[attr-defined]
        captured.append(answer.headers["location"])
        route.abort()  # type: ignore[attr-defined]

    desk.route(lambda url: url.startswith(f"{ehr.base}/authorize"), keep)
    first = desk.new_page()
    first.goto(f"{smart_server}/?iss={ehr.fhir}&launch=launch-123")
    for _ in range(120):  # Playwright serves the route only while it is called: wait in it
        if captured:
            break
        first.wait_for_timeout(500)
    assert captured, "the EHR never sent the browser back"
    other = browser.new_context(viewport={"width": 1280, "height": 800})  # type: ignore
    try:
        page = other.new_page()
        page.goto(captured[0])
        expect(page.get_by_text("was begun in another browser")).to_be_visible()
        expect(page.get_by_text("Signed in as")).to_have_count(0)
    finally:
        other.close()
