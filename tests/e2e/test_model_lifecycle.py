"""The data scientist's path in a real browser (issue 14): start training, close the
browser, restart the dashboard server, find the finished candidate (registered by the job's
worker process), compare it with the current version on patients neither saw, promote it,
and see the Monitoring view. Screenshots at 1280x800 in tests/e2e/screenshots/."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from browsing import sign_in, wait_idle
from conftest import ROOT, _free_port, _require_chromium
from conftest import _wait_until_healthy as wait_until_healthy
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e
expect.set_options(timeout=120_000)

SCIENTIST, PASSWORD = "e2e-scientist", "e2e scientist password"
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"


class Dashboard:
    """A Streamlit server on a bootstrapped home that can be stopped and started again."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.env = {**os.environ, "KAPCDS_HOME": str(home), "KAPCDS_BCRYPT_ROUNDS": "4",
                    "KAPCDS_ADMIN_PASSWORD": "e2e administrator password"}
        self.env.pop("KAPCDS_DATABASE_URL", None)
        self.process: subprocess.Popen | None = None
        self.url = ""

    def start(self) -> str:
        port = _free_port()
        log_path = self.home / f"streamlit-{port}.log"
        with open(log_path, "w", encoding="utf-8") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard" / "app.py"),
                 "--server.headless", "true", "--server.port", str(port),
                 "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
                env=self.env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{port}"
        wait_until_healthy(self.url, self.process, log_path)
        return self.url

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    _require_chromium()
    home = tmp_path_factory.mktemp("kapcds-e2e-lifecycle")
    app = Dashboard(home)
    subprocess.run([sys.executable, "-c", "from dashboard.services.startup import ensure_ready; "
                    "ensure_ready()"], env=app.env, cwd=ROOT, check=True, timeout=900)
    subprocess.run([sys.executable, "-m", "kapcds.cli", "users", "add", SCIENTIST, "--role",
                    "data_scientist", "--password-stdin"], input=PASSWORD + "\n", text=True,
                   env=app.env, cwd=ROOT, check=True, timeout=120)
    try:
        yield app
    finally:
        app.stop()
        subprocess.run([sys.executable, "-m", "kapcds.cli", "jobs", "list"], env=app.env,
                       cwd=ROOT, timeout=120, capture_output=True)


def _shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def _idle(page: Page) -> None:
    wait_idle(page, settle_ms=400)


def _sign_in_to(page: Page, url: str, menu: str) -> None:
    sign_in(page, url, SCIENTIST, PASSWORD)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=menu, exact=True).click()
    _idle(page)


def _new_page(browser, url: str, menu: str):
    """A new browser window (own context: own cookies and Streamlit session), signed in."""
    window = browser.new_context(viewport={"width": 1280, "height": 800})
    page = window.new_page()
    page.set_default_timeout(120_000)
    _sign_in_to(page, url, menu)
    return window, page


def test_train_close_restart_compare_promote_monitor(dashboard: Dashboard, browser) -> None:
    url = dashboard.start()
    window, page = _new_page(browser, url, "Model lab")
    page.get_by_text("generate a synthetic cohort").click()
    _idle(page)
    patients = page.get_by_role("spinbutton", name="Patients", exact=True)
    patients.fill("300")
    patients.press("Enter")
    boot = page.get_by_label("Bootstrap resamples (CIs)")
    boot.fill("10")
    boot.press("Enter")
    _idle(page)
    page.get_by_role("button", name="Train in the background").click()
    _idle(page)
    expect(page.get_by_text("Training jobs", exact=True)).to_be_visible()
    job = page.get_by_text(f"by {SCIENTIST}").first
    expect(job).to_be_visible()
    job.scroll_into_view_if_needed()
    _shot(page, "lifecycle_1_job_started")
    window.close()  # the data scientist closes the browser

    dashboard.stop()  # ... and the dashboard server restarts
    url = dashboard.start()

    window, page = _new_page(browser, url, "Model lab")
    done = page.get_by_text("Registered candidate version").first
    expect(done).to_be_visible(timeout=300_000)
    done.scroll_into_view_if_needed()
    candidate = re.search(r"version (\S+) \(not promoted\)", done.inner_text()).group(1)
    _shot(page, "lifecycle_2_candidate_after_restart")
    page.get_by_role("tab", name="Compare and promote").click()
    _idle(page)
    caption = page.get_by_text("that neither version trained or validated on").first
    expect(caption).to_be_visible()
    caption.scroll_into_view_if_needed()
    _shot(page, "lifecycle_3_compare_unseen")
    page.get_by_text("I have reviewed version").click()
    _idle(page)
    reason = page.get_by_label(re.compile("^Reason for promoting"))  # issue 23: required
    reason.fill("trained in the lab, reviewed on unseen patients")
    reason.press("Control+Enter")
    _idle(page)
    page.get_by_role("button", name="Promote to current").click()
    _idle(page)
    expect(page.get_by_text(f"model version {candidate}")).to_be_visible()
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Monitoring", exact=True).click()
    _idle(page)
    expect(page.get_by_text("Realised performance")).to_be_visible()
    expect(page.get_by_text(f"model version {candidate}")).to_be_visible()
    _shot(page, "lifecycle_4_monitoring")
    verdict = page.get_by_test_id("stAlert").filter(has_text="suggested")
    expect(verdict).to_contain_text(candidate)
    expect(page.get_by_text("Input drift")).to_be_visible()
    _shot(page, "lifecycle_4_monitoring")
    page.get_by_text("Input drift").scroll_into_view_if_needed()
    page.wait_for_timeout(800)
    _shot(page, "lifecycle_5_monitoring_drift")
    window.close()
