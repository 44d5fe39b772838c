"""End-to-end fixtures: a real Streamlit server on a free port and Debian's Chromium.

The server runs ``dashboard/app.py`` in a subprocess with ``KAPCDS_HOME`` in a temporary
folder that was bootstrapped first (store seeded from ``data_samples/``, a model trained),
so the browser sees exactly what ``kapcds dashboard`` would serve. Without Chromium the
tests skip locally and fail under ``CI=true``, so CI cannot go green untested.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.load_server import free_port

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
STARTUP_TIMEOUT = 180.0  # seconds
USER, PASSWORD = "e2e-clinician", "e2e clinician password"  # made by the server fixture


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def _free_port() -> int:
    """A free port; within ``KAPCDS_E2E_PORTS`` (e.g. ``8610-8619``) when set, for machines
    where each test run is given its own range (the load benchmarks' helper: one rule)."""
    return free_port()


def _wait_until_healthy(url: str, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited early:\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().decode().strip() == "ok":
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"streamlit not healthy after {STARTUP_TIMEOUT:.0f} s")


@pytest.fixture(scope="session")
def e2e_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The server's KAPCDS_HOME (tests may add records to its store before browsing)."""
    return tmp_path_factory.mktemp("kapcds-e2e-home")


@pytest.fixture(scope="session")
def server(e2e_home: Path) -> Iterator[str]:
    """Base URL of a Streamlit server on a bootstrapped temporary home."""
    _require_chromium()
    home = e2e_home
    env = {**os.environ, "KAPCDS_HOME": str(home), "KAPCDS_BCRYPT_ROUNDS": "4",
           "KAPCDS_ADMIN_PASSWORD": "e2e administrator password"}
    env.pop("KAPCDS_DATABASE_URL", None)
    subprocess.run([sys.executable, "-c", "from dashboard.services.startup import ensure_ready; "
                    "ensure_ready()"], env=env, cwd=ROOT, check=True, timeout=900)
    subprocess.run([sys.executable, "-m", "kapcds.cli", "users", "add", USER, "--role",
                    "clinician", "--password-stdin"], input=PASSWORD + "\n", text=True,
                   env=env, cwd=ROOT, check=True, timeout=120)
    port = int(os.environ.get("KAPCDS_E2E_PORT") or 0) or _free_port()  # a session's own range
    log_path = home / "streamlit.log"
    with open(log_path, "w", encoding="utf-8") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard" / "app.py"),
             "--server.headless", "true", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
            env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(url, process, log_path)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def chromium_browser() -> Iterator[object]:
    """Headless Debian Chromium driven by Playwright: one per test session (the sync API
    keeps its event loop for the whole session, so no test may start a second one)."""
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                              args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="session")
def browser(server: str, chromium_browser: object) -> object:
    """The session's Chromium, once the dashboard server is up."""
    return chromium_browser


def _fresh_page(browser: object, width: int, height: int) -> Iterator[object]:
    """A page in its own context (its own Streamlit session), closed afterwards."""
    context = browser.new_context(viewport={"width": width, "height": height})  # type: ignore
    page = context.new_page()
    page.set_default_timeout(90_000)
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    """A fresh page at a tall desktop size (Streamlit scrolls inside its own container)."""
    yield from _fresh_page(browser, 1500, 2200)


@pytest.fixture
def small(browser: object) -> Iterator[object]:
    """A fresh page at a 1280×800 laptop screen."""
    yield from _fresh_page(browser, 1280, 800)


def screenshot(page: object, name: str) -> Path:
    """Save a screenshot under tests/e2e/screenshots/ (git-ignored).

    Streamlit scrolls inside its own container, so the tall viewport is what shows more.
    """
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path
