"""The steps every browser test repeats: sign in, open a menu page, wait for Streamlit.

One place, so a change of the sign-in form or the menu is mended once for every test.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from benchmarks.load_server import stop_server
from dashboard.widgets.components import BANNER_TEXT

BANNER = BANNER_TEXT  # every signed-in page shows it


def wait_idle(page: Page, settle_ms: int = 300) -> None:
    """Wait until Streamlit has finished the current run (the status widget disappears)."""
    page.wait_for_timeout(settle_ms)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=90_000)


def pick_option(page: Page, box: Locator, option: str | re.Pattern[str],
                attempts: int = 6) -> None:
    """Open the selectbox ``box`` and click ``option``.

    Under load a rerun that was still on its way can redraw the box and close the list
    that the click opened; then the list is opened again (a person would click again too).
    """
    wanted = page.get_by_role("option", name=option, exact=isinstance(option, str))
    if not isinstance(option, str):
        wanted = wanted.first  # a pattern takes the first option it matches
    for attempt in range(attempts):
        box.click()
        try:
            wanted.click(timeout=10_000)
            return
        except PlaywrightTimeoutError:
            if attempt == attempts - 1:
                raise
            page.keyboard.press("Escape")
            wait_idle(page, 1000)


def sign_in(page: Page, url: str, username: str, password: str) -> None:
    """Open ``url`` (a fresh browser session starts signed out) and sign in with a password."""
    page.goto(url)
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_text(BANNER).first).to_be_visible()


def open_menu(page: Page, title: str, settle_ms: int = 300) -> None:
    """Click the sidebar menu entry ``title`` (exactly) and wait for its page."""
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True).click()
    expect(page.get_by_role("heading", name=title)).to_be_visible()
    wait_idle(page, settle_ms)


def stop_process(process: subprocess.Popen) -> None:
    """Terminate a server the test started; kill it if it does not stop within 15 s."""
    stop_server(process)


def server_home(tmp_path_factory: object) -> Path:
    """The server fixture's KAPCDS_HOME (its one ``kapcds-e2e-home`` temp folder)."""
    homes = [p for p in tmp_path_factory.getbasetemp().glob("kapcds-e2e-home*")  # type: ignore
             if not p.is_symlink() and (p / "streamlit.log").is_file()]
    assert len(homes) == 1, homes
    return homes[0]


def add_user(home: Path, username: str, role: str, password: str, root: Path) -> None:
    """Create an account with the CLI, as the server fixture does for the clinician."""
    env = {**os.environ, "KAPCDS_HOME": str(home), "KAPCDS_BCRYPT_ROUNDS": "4"}
    env.pop("KAPCDS_DATABASE_URL", None)
    subprocess.run([sys.executable, "-m", "kapcds.cli", "users", "add", username, "--role",
                    role, "--password-stdin"], input=password + "\n", text=True,
                   env=env, cwd=root, check=True, timeout=120)
