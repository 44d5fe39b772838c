"""Single sign-on against a real OpenID Connect provider on 127.0.0.1 (issue 15).

The test starts ``oidc-provider-mock`` (a real OIDC provider: discovery, authorisation-code
flow with nonce, signed ID tokens, RP-initiated sign-out) and a second dashboard server on
the e2e store whose Streamlit ``[auth]`` secrets are written by ``base.oidc`` from
``KAPCDS_OIDC_*`` settings, exactly as ``kapcds dashboard`` does. Chromium signs in at the
provider, reloads (still signed in, by the session cookie), and signs out (the session ends
in the store and at the provider); an identity without an account gets nowhere.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from browsing import stop_process as _stop
from conftest import ROOT, _free_port, _wait_until_healthy, screenshot
from playwright.sync_api import BrowserContext, Page, expect
from test_signin_sessions import audit_rows, e2e_home, kapcds

from base.oidc import OidcSettings, write_secrets_file

pytestmark = pytest.mark.e2e
expect.set_options(timeout=90_000)

BANNER = "Model trained on synthetic data — decision support, not a decision"
LABEL = "Clinic ID"
DOCTOR = {"sub": "idp-0042", "email": "dr.sso@clinic.example", "email_verified": True,
          "name": "Dr Single Sign-On"}
STRANGER = {"sub": "idp-9999", "email": "stranger@elsewhere.example", "email_verified": True}


def _wait_for(url: str, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"OIDC provider exited:\n{log_path.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                json.loads(response.read())
                return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("OIDC provider did not answer within 60 s")


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Issuer URL of an OIDC provider on loopback that knows DOCTOR and STRANGER."""
    port = _free_port()
    log_path = tmp_path_factory.mktemp("oidc") / "provider.log"
    command = [sys.executable, "-m", "oidc_provider_mock", "--host", "127.0.0.1", "--port",
               str(port), "--require-nonce", "true",
               "--user-claims", json.dumps(DOCTOR), "--user-claims", json.dumps(STRANGER)]
    with open(log_path, "w", encoding="utf-8") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    issuer = f"http://127.0.0.1:{port}"
    try:
        _wait_for(f"{issuer}/.well-known/openid-configuration", process, log_path)
        yield issuer
    finally:
        _stop(process)


@pytest.fixture(scope="module")
def sso_server(server: str, provider: str,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A dashboard on the e2e store with single sign-on through ``provider``."""
    home = e2e_home(tmp_path_factory)
    port = _free_port()
    settings = OidcSettings(metadata_url=f"{provider}/.well-known/openid-configuration",
                            client_id="kapcds-e2e", client_secret="e2e client secret",
                            redirect_uri=f"http://127.0.0.1:{port}/oauth2callback",
                            label=LABEL)
    folder = tmp_path_factory.mktemp("sso-secrets")
    secrets_file = write_secrets_file(settings, folder)
    assert secrets_file is not None and oct(secrets_file.stat().st_mode)[-3:] == "600"
    kapcds(home, "users", "add", "e2e-sso", "--role", "clinician", "--sso-only",
           "--email", DOCTOR["email"])
    env = {**os.environ, "KAPCDS_HOME": str(home), "KAPCDS_BCRYPT_ROUNDS": "4",
           "KAPCDS_OIDC_LABEL": LABEL}
    env.pop("KAPCDS_DATABASE_URL", None)
    log_path = folder / "streamlit.log"
    with open(log_path, "w", encoding="utf-8") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard" / "app.py"),
             "--server.headless", "true", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
             "--secrets.files", str(secrets_file)],
            env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(url, process, log_path)
        yield url
    finally:
        _stop(process)


@pytest.fixture
def desk(browser: object) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})  # type: ignore
    context.set_default_timeout(90_000)
    try:
        yield context
    finally:
        context.close()


def _sign_in_at_provider(page: Page, server: str, subject: str) -> None:
    page.goto(server)
    page.get_by_role("button", name=f"Sign in with {LABEL}").click()
    page.wait_for_url("**/oauth2/authorize**")
    page.get_by_role("button", name=subject).click()  # the provider's "predefined user"


def test_single_sign_on_sign_in_reload_sign_out(
        desk: BrowserContext, sso_server: str, tmp_path_factory: pytest.TempPathFactory,
        tmp_path: Path) -> None:
    page = desk.new_page()
    page.goto(sso_server)
    expect(page.get_by_role("button", name=f"Sign in with {LABEL}")).to_be_visible()
    expect(page.get_by_role("textbox", name="Username")).to_be_visible()
    page.wait_for_timeout(500)
    screenshot(page, "signin_sso_form")
    _sign_in_at_provider(page, sso_server, DOCTOR["sub"])
    expect(page.get_by_text("Signed in as e2e-sso")).to_be_visible()
    expect(page.get_by_text(BANNER)).to_be_visible()
    page.wait_for_function("document.cookie.includes('kapcds_session=')")

    page.reload()
    expect(page.get_by_text("Signed in as e2e-sso")).to_be_visible()
    home = e2e_home(tmp_path_factory)
    listed = kapcds(home, "sessions", "list", "--user", "e2e-sso")
    assert "oidc" in listed and "active" in listed

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/oauth2/end_session**")  # RP-initiated sign-out at the provider
    page.get_by_role("button", name="End session").click()
    expect(page.get_by_role("heading", name="Sign in to KAP-CDS")).to_be_visible()
    page.reload()
    expect(page.get_by_role("button", name=f"Sign in with {LABEL}")).to_be_visible()
    expect(page.get_by_text("Signed in as")).to_have_count(0)
    assert "no active sessions" in kapcds(home, "sessions", "list", "--user", "e2e-sso")
    logins = [r for r in audit_rows(home, tmp_path, "login") if r["username"] == "e2e-sso"]
    assert [(r["outcome"], r["detail"]) for r in logins] == [("success", "sso")]


def test_an_identity_without_an_account_gets_no_access(
        desk: BrowserContext, sso_server: str, tmp_path_factory: pytest.TempPathFactory,
        tmp_path: Path) -> None:
    page = desk.new_page()
    _sign_in_at_provider(page, sso_server, STRANGER["sub"])
    expect(page.get_by_text("no active KAP-CDS account matches")).to_be_visible()
    expect(page.get_by_text("Signed in as")).to_have_count(0)
    sign_out = page.get_by_role("button", name=f"Sign out of {LABEL}")
    expect(sign_out).to_be_visible()
    expect(page.get_by_role("textbox", name="Username")).to_be_visible()  # passwords still on
    page.wait_for_timeout(500)
    screenshot(page, "signin_sso_refused")
    sign_out.click()
    page.wait_for_url("**/oauth2/end_session**")
    home = e2e_home(tmp_path_factory)
    refused = [r for r in audit_rows(home, tmp_path, "login")
               if r["username"] == f"sso:{STRANGER['email']}"]
    assert [(r["outcome"], r["detail"]) for r in refused] == [
        ("failure", "sso: no account with this e-mail address")]
