"""Issue 31 item 3: the websocket client of ``benchmarks.load_ws`` drives a real dashboard.

Two clinicians, each on their own websocket session (no browser), sign in through the
sign-in form, open Treatment progress and save a session through its form at the same
moment. Each client sees "Session N saved." (checked by ``ws_flows``), no exception box is
shown, and each save is stored exactly once. Correctness only: timings are the benchmark's.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from pathlib import Path

import pytest

from benchmarks import load_server as srv
from benchmarks import ws_flows as flows
from benchmarks.ws_client import Session

pytestmark = pytest.mark.e2e
CLINICIANS = ["e2e-websocket-1", "e2e-websocket-2"]


async def _save_together(url: str, patients: list[tuple[str, int]]) -> list[object]:
    """Per client: (patient id, session number) saved, and the exception boxes shown;
    a wrong password first, which must leave the client on the sign-in form."""
    sessions = [Session(url) for _ in CLINICIANS]
    try:
        await asyncio.gather(*(s.connect() for s in sessions))
        with pytest.raises(flows.Missing):  # the banner only shows once signed in
            await flows.sign_in(sessions[0], CLINICIANS[0], "not the password")
        await asyncio.gather(*(flows.sign_in(s, name, srv.PASSWORD)
                               for s, name in zip(sessions, CLINICIANS, strict=True)))
        await asyncio.gather(*(flows.open_page(s, "Treatment progress") for s in sessions))
        saved = await asyncio.gather(*(flows.record_session(s, pid, day) for s, (pid, day)
                                       in zip(sessions, patients, strict=True)))
        boxes = [s.screen.exceptions() for s in sessions]
    finally:
        await asyncio.gather(*(s.close() for s in sessions))
    return [(pid, number) for (pid, _), (_, number) in zip(patients, saved, strict=True)] \
        + [boxes]


def test_websocket_clients_sign_in_and_save_each_once(server: str, e2e_home: Path) -> None:
    srv.add_clinicians(e2e_home, CLINICIANS)
    pool, _ = srv.work_pool(e2e_home)
    patients = pool[-7:-5]  # test_concurrent_clinicians writes to the last five
    before = srv.count_sessions(e2e_home)
    with concurrent.futures.ThreadPoolExecutor(1) as thread:  # its own event loop
        *saved, boxes = thread.submit(asyncio.run, _save_together(server, patients)) \
            .result(timeout=300)
    assert boxes == [[], []]  # no Streamlit exception box in either session
    assert [pid for pid, _ in saved] == [pid for pid, _ in patients]
    assert srv.stored_once(e2e_home, saved) == {"stored_once": 2, "missing": 0,
                                                "duplicated": 0}
    assert srv.count_sessions(e2e_home) == before + 2  # nothing else written
