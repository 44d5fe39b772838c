"""Replicas on one PostgreSQL store behind nginx (issue 31, item 4), in a real browser.

Two dashboard processes and two CDS Hooks services, each with its own KAPCDS_HOME, share one
PostgreSQL database; nginx (Debian's, started here with a generated configuration) keeps a
browser on one dashboard by a cookie and passes the WebSocket upgrade on. Shown: a sign-in
made through the proxy is valid on the other dashboard (its cookie alone, sent straight to
that process); a save on one dashboard is seen on the other; the cohort table is built once
for one store state (the lease row in the store counts it) and read by the other replica;
concurrent CDS calls through the proxy to both services and a dashboard save leave one
verifiable audit chain. Without nginx, Chromium or a test PostgreSQL the test skips locally
and fails under CI=true.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from browsing import open_menu, sign_in, wait_idle
from conftest import CHROMIUM, ROOT
from playwright.sync_api import Locator, Page, expect
from replica_stack import (
    ADMIN_PASSWORD,
    NGINX,
    REPLICA_COOKIE,
    Stack,
    create_database,
    drop_database,
    free_ports,
    require,
    start_nginx,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "interop"))
from cds_support import EhrKey, hook_body, issuers_file, prefetch_for  # noqa: E402

log = logging.getLogger(__name__)
pytestmark = pytest.mark.e2e
expect.set_options(timeout=90_000)

USER, PASSWORD = "replica-clinician", "replica clinician password"
PATIENT, BMI = "KAP-00033", "31.7"
CDS_CALLS = 24


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, e2e_home: Path) -> Iterator[Stack]:
    require(Path(NGINX).exists(), f"nginx not found ({NGINX}): apt-get install -y nginx")
    require(CHROMIUM.exists(), f"{CHROMIUM} not found: apt-get install -y chromium")
    admin_url = os.environ.get("KAPCDS_TEST_POSTGRES_URL", "")
    require(bool(admin_url), "KAPCDS_TEST_POSTGRES_URL not set (eval \"$(bash .ci/postgres.sh)\")")
    root = tmp_path_factory.mktemp("replicas")
    url, database = create_database(admin_url)
    stack = Stack(root, url)
    shared = root / "shared"
    shared.mkdir(mode=0o700)
    key = EhrKey()
    stack.env = {**os.environ, "KAPCDS_DATABASE_URL": url, "KAPCDS_BCRYPT_ROUNDS": "4",
                 "KAPCDS_ADMIN_PASSWORD": ADMIN_PASSWORD,
                 "KAPCDS_SIGNING_KEY_FILE": str(shared / "signing.key"),
                 "KAPCDS_AUDIT_CHECKPOINT_FILE": str(shared / "audit-checkpoints.jsonl"),
                 "KAPCDS_CDS_ISSUERS": str(issuers_file(shared / "issuers.json", key, [])),
                 "KAPCDS_CDS_DASHBOARD_URL": "https://kap.example"}
    stack.homes = [root / "home-a", root / "home-b"]
    proxy_port, *ports = free_ports(5)
    stack.env["KAPCDS_CDS_BASE_URL"] = f"http://127.0.0.1:{proxy_port}"  # the EHR's URL
    try:
        started = time.monotonic()
        _prepare(stack, e2e_home)
        log.info("replica stack: model and store ready after %.0f s", time.monotonic() - started)
        for i, home in enumerate(stack.homes):
            dash, cds = ports[i], ports[2 + i]
            stack.start("dashboard", [sys.executable, "-m", "kapcds.cli", "dashboard",
                                      "--port", str(dash)], home,
                        f"http://127.0.0.1:{dash}/_stcore/health")
            stack.start("cds", [sys.executable, "-m", "kapcds.cli", "serve-cds", "--port",
                                str(cds), "--registry", str(home / "registry")], home,
                        f"http://127.0.0.1:{cds}/cds-services")
            stack.dashboards.append(f"http://127.0.0.1:{dash}")
            stack.cds.append(f"http://127.0.0.1:{cds}")
        start_nginx(stack, proxy_port, ports[:2], ports[2:])
        log.info("replica stack: 4 processes and nginx up after %.0f s",
                 time.monotonic() - started)
        stack.ehr_key = key
        yield stack
    finally:
        stack.stop()
        drop_database(admin_url, database)


def _prepare(stack: Stack, e2e_home: Path) -> None:
    """Seed the PostgreSQL store with the model the e2e session's server trained (trained
    here, as the server fixture would, when this test runs alone): its registry is copied to
    both homes, as to two machines, and its key is the replicas' shared key."""
    env = {**os.environ, "KAPCDS_HOME": str(e2e_home), "KAPCDS_BCRYPT_ROUNDS": "4",
           "KAPCDS_ADMIN_PASSWORD": "e2e administrator password"}
    env.pop("KAPCDS_DATABASE_URL", None)
    if not (e2e_home / "registry").is_dir():
        started = time.monotonic()
        _ensure_ready(env)
        log.info("replica stack: first model trained in %.0f s", time.monotonic() - started)
    shared = Path(stack.env["KAPCDS_SIGNING_KEY_FILE"]).parent
    for name in ("signing.key", "signing.pub"):
        shutil.copy2(e2e_home / "keys" / name, shared / name)
    for home in stack.homes:
        home.mkdir()
        shutil.copytree(e2e_home / "registry", home / "registry")
    _ensure_ready(stack.env_for(stack.homes[0]))  # seeds the store; the model is there
    stack.kapcds("users", "add", USER, "--role", "clinician", "--password-stdin",
                 stdin=PASSWORD + "\n")


def _ensure_ready(env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "-c", "from dashboard.services.startup import "
                    "ensure_ready; ensure_ready()"], env=env, cwd=ROOT, check=True,
                   timeout=900)


def _served_by(stack: Stack, replica_key: str) -> set[str]:
    """The dashboards nginx sent this browser's requests to (its access log)."""
    return {line.split()[1] for line in stack.proxy_log()
            if line.split()[0] == replica_key and "/cds-services" not in line}


def _cohort_files(home: Path) -> list[Path]:
    return sorted((home / "cache").glob("cohort-*.arrow"))


def _wait(condition, timeout: float = 120.0) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.5)
    return False


def _edit_bmi(page: Page, value: str | None) -> None:
    """Open the patient in Edit patient; save ``value`` as BMI unless None."""
    open_menu(page, "Data entry")
    page.get_by_role("tab", name="Edit patient").click()
    box = page.get_by_test_id("stSelectbox").filter(
        has=page.get_by_text("Patient to edit", exact=True))
    box.click()
    page.keyboard.type(PATIENT)
    page.get_by_role("option", name=re.compile(f"^{PATIENT} ")).click()
    page.wait_for_timeout(1000)
    wait_idle(page)
    expect(_bmi(page)).to_have_count(1)  # the previous patient's form has gone
    if value is None:
        return
    _bmi(page).fill(value)
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text(re.compile(f"Patient {PATIENT} saved"))).to_be_visible()


def _bmi(page: Page) -> Locator:
    """The BMI field of the Edit patient form (Add patient has one too)."""
    form = page.get_by_test_id("stForm").filter(
        has=page.get_by_role("button", name="Save changes"))
    return form.get_by_label("Body-mass index (kg/m²)", exact=True)


def _cds_call(stack: Stack, number: int) -> int:
    """One patient-view call through the proxy, as an EHR makes it."""
    url = f"{stack.proxy}/cds-services/kapcds-patient-view"
    token = stack.ehr_key.token(aud=url)
    body = json.dumps(hook_body(f"ehr-{number % 3 + 1}",
                                prefetch_for(f"ehr-{number % 3 + 1}"))).encode()
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return response.status


def test_replicas_share_signin_saves_cohort_build_and_audit_chain(
        stack: Stack, chromium_browser: object) -> None:
    context = chromium_browser.new_context(viewport={"width": 1500, "height": 2200})  # type: ignore
    context.set_default_timeout(90_000)
    page = context.new_page()
    started = time.monotonic()
    sign_in(page, stack.proxy, USER, PASSWORD)
    assert _wait(lambda: "kapcds_session" in {c["name"] for c in context.cookies()}, 60)
    cookies = {c["name"]: c["value"] for c in context.cookies()}
    served = _served_by(stack, cookies[REPLICA_COOKIE])
    assert len(served) == 1, served  # sticky: page, assets and WebSocket on one dashboard
    mine = stack.dashboards.index("http://" + served.pop())
    other_url = stack.dashboards[1 - mine]

    # The sign-in made through the proxy, on the other dashboard with its cookie alone.
    direct = chromium_browser.new_context(viewport={"width": 1500, "height": 2200})  # type: ignore
    direct.set_default_timeout(90_000)
    direct.add_cookies([{"name": "kapcds_session", "value": cookies["kapcds_session"],
                         "url": other_url}])
    there = direct.new_page()
    there.goto(other_url)
    expect(there.get_by_test_id("stSidebarNav")).to_be_visible()
    expect(there.get_by_role("textbox", name="Password")).to_have_count(0)

    log.info("replicas: signed in on both after %.0f s", time.monotonic() - started)
    # One cohort build for one store state: both replicas open the cohort.
    open_menu(page, "Cohort overview")
    open_menu(there, "Cohort overview")
    assert _wait(lambda: all(_cohort_files(h) for h in stack.homes)), "no cohort files"
    rows = stack.sql("SELECT key, builds, holder FROM shared_builds")
    assert [(r[1], r[2]) for r in rows] == [(1, None)], rows
    builds = stack.sql("SELECT detail FROM audit_log WHERE action = 'cohort_build'")
    assert len(builds) == 1 and "published under the store's lease" in builds[0][0], builds

    log.info("replicas: cohort on both after %.0f s", time.monotonic() - started)
    # Concurrent writers: CDS calls through the proxy to both services, and a save.
    with ThreadPoolExecutor(max_workers=6) as pool:
        calls = pool.map(lambda n: _cds_call(stack, n), range(CDS_CALLS))
        _edit_bmi(page, BMI)
        statuses = list(calls)
    assert statuses == [200] * CDS_CALLS
    cds_upstreams = {line.split()[1] for line in stack.proxy_log()
                     if "/cds-services/kapcds-patient-view" in line}
    assert cds_upstreams == {u.removeprefix("http://") for u in stack.cds}

    log.info("replicas: %d CDS calls and a save after %.0f s", CDS_CALLS,
             time.monotonic() - started)
    # The save, seen on the other dashboard.
    _edit_bmi(there, None)
    expect(_bmi(there)).to_have_value(
        re.compile(f"^{re.escape(BMI)}"))

    audited = stack.sql("SELECT COUNT(*) FROM audit_log WHERE action = 'prediction_view' "
                        "AND detail LIKE 'CDS Hooks kapcds-patient-view%'")[0][0]
    assert audited == CDS_CALLS
    verified = stack.kapcds("audit", "verify", check=False)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    log.info("replicas: save seen and chain verified after %.0f s", time.monotonic() - started)
    heads = stack.sql("SELECT COUNT(*) FROM audit_chain")[0][0]
    assert heads == 1
    context.close()
    direct.close()
