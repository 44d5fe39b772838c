"""Issue 31 item 3, the short version of the load test (benchmarks/load_clinicians.py):
five clinicians, each signed in in their own browser session, save a session for five
different patients at the same moment. Each save is stored exactly once, every browser
says so, and no error is shown. Correctness only: the timings are the benchmark's."""

from __future__ import annotations

import asyncio
import concurrent.futures
import sqlite3
from pathlib import Path

import pytest
from conftest import CHROMIUM, CHROMIUM_ARGS

from benchmarks import load_flows as flows
from benchmarks import load_server as srv

pytestmark = pytest.mark.e2e
CLINICIANS = [f"e2e-concurrent-{i}" for i in range(1, 6)]


async def _five_at_once(url: str, patients: list[tuple[str, int]]) -> list[object]:
    """Sign in, fill the forms, then press the five Save buttons together; per session the
    saved (patient id, number) or the exception it met, and the exception boxes shown."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM),
                                                   headless=True, args=CHROMIUM_ARGS)
        try:
            pages = []
            for _ in CLINICIANS:
                context = await browser.new_context(viewport={"width": 1280, "height": 900})
                pages.append(await context.new_page())
                pages[-1].set_default_timeout(flows.TIMEOUT_MS)  # a cold server under load
            await asyncio.gather(*(flows.sign_in(p, url, name, srv.PASSWORD)
                                   for p, name in zip(pages, CLINICIANS, strict=True)))
            await asyncio.gather(*(flows.open_menu(p, "Treatment progress") for p in pages))
            numbers = await asyncio.gather(*(
                flows.prepare_session(p, pid, day)
                for p, (pid, day) in zip(pages, patients, strict=True)))
            saved = await asyncio.gather(*(flows.save_session(p, n)
                                           for p, n in zip(pages, numbers, strict=True)),
                                         return_exceptions=True)
            boxes = [await flows.shown_exceptions(p) for p in pages]
        finally:
            await browser.close()
    return [(pid, n) if not isinstance(s, BaseException) else s
            for (pid, _), n, s in zip(patients, numbers, saved, strict=True)] + [boxes]


def _sessions_of(home: Path, patient_ids: list[str]) -> int:
    marks = ",".join("?" * len(patient_ids))
    with sqlite3.connect(srv.store_path(home)) as conn:
        return int(conn.execute(
            "SELECT COUNT(*) FROM sessions s JOIN patients p ON p.id = s.patient_pk "
            f"WHERE p.patient_id IN ({marks})", patient_ids).fetchone()[0])


def test_five_clinicians_save_at_once_each_stored_once(server: str, e2e_home: Path) -> None:
    srv.add_clinicians(e2e_home, CLINICIANS)
    pool, _ = srv.work_pool(e2e_home)
    patients = pool[-len(CLINICIANS):]  # the last ids: no other browser test writes to them
    ids = [pid for pid, _ in patients]
    before = _sessions_of(e2e_home, ids)
    with concurrent.futures.ThreadPoolExecutor(1) as pool_thread:  # its own event loop
        *saved, boxes = pool_thread.submit(asyncio.run, _five_at_once(server, patients)) \
            .result(timeout=600)
    failures = [s for s in saved if isinstance(s, BaseException)]
    assert not failures, failures
    assert boxes == [0] * len(CLINICIANS)  # no Streamlit exception box in any session
    assert srv.stored_once(e2e_home, saved) == {"stored_once": len(CLINICIANS), "missing": 0,
                                                "duplicated": 0}
    assert _sessions_of(e2e_home, ids) == before + len(CLINICIANS)  # nothing else written
