"""``python -m benchmarks.load_ws --sessions 20 --minutes 5``: many clinicians at once over
Streamlit's websocket protocol, without a browser (issue 31 item 3).

The browser load test (``benchmarks.load_clinicians``) runs 20 Chromium renderers on the
same two cores as the server, so its times measure the browser. This one drives the same
server (``benchmarks.load_server``: its own KAPCDS_HOME, one account per clinician) with N
asyncio websocket sessions (``benchmarks.ws_client``) doing the same mix
(``benchmarks.ws_flows``): sign in through the form, open Candidate review and page the
list, open a patient there, open Treatment progress and save a session through its form
(each client writes to its own patients), open the What-if explorer and change the dose
twice; a pause between interactions. Each interaction is timed from its BackMsg to the
end of the run that answers it, and counts as an error if the expected text is missing,
the screen shows an exception box, or it takes over 90 s. The report (``run`` and
``markdown`` of ``load_clinicians``) is the browser test's: p50/p95 per interaction,
errors, server RSS, the writes counted in the store, the load average.
``--quick``: 2 sessions for 1 minute.
"""

from __future__ import annotations

import asyncio
import logging
import random
from pathlib import Path
from typing import Any

import websockets

from benchmarks import load_clinicians as browser
from benchmarks import load_server as srv
from benchmarks import ws_flows as flows
from benchmarks.common import Context, register
from benchmarks.load_flows import Tally
from benchmarks.ws_client import Session

log = logging.getLogger("benchmarks.load_ws")

RESULTS = Path(__file__).resolve().parent / "results" / "issue31_load_ws.json"
FAILURES = (flows.Missing, KeyError, StopIteration, asyncio.TimeoutError,
            websockets.ConnectionClosed, OSError)


class Client:
    """One clinician: one websocket session, its own account, its own patients."""

    def __init__(self, index: int, url: str, pool: list[tuple[str, int]],
                 everyone: list[str], think_s: float) -> None:
        self.index, self.url, self.pool, self.everyone = index, url, pool, everyone
        self.username = f"load-clinician-{index + 1:02d}"
        self.think_s, self.rng = think_s, random.Random(20261208 + index)
        self.tally, self.session, self.broken = Tally(), Session(url), False

    async def _step(self, kind: str, work: Any) -> Any:
        """One interaction; a failure or an exception box counts as an error."""
        try:
            result = await work
        except FAILURES as exc:
            self.tally.errors.append(f"{kind}: {type(exc).__name__}: {str(exc)[:200]}")
            log.warning("client %d %s failed: %s", self.index + 1, kind, str(exc)[:300])
            self.broken = True  # the rest of this round is skipped
            await self._reconnect()
            return None
        if boxes := self.session.screen.exceptions():
            self.tally.errors.append(f"{kind}: exception box(es) shown: {boxes}")
        seconds = result[0] if isinstance(result, tuple) else result
        self.tally.add(kind, seconds)
        return result

    async def _reconnect(self) -> None:
        """A fresh tab: a new connection, signed in again (not timed)."""
        await self.session.close()
        self.session = Session(self.url)
        try:
            await self.session.connect()
            await flows.sign_in(self.session, self.username, srv.PASSWORD)
        except FAILURES as exc:
            log.warning("client %d could not reconnect: %s", self.index + 1, exc)

    async def sign_in(self, delay_s: float = 0.0) -> None:
        """Open the app after ``delay_s`` and sign in (three tries, failures counted)."""
        await asyncio.sleep(delay_s)
        for _ in range(3):
            try:
                await self.session.connect()
                self.tally.add("sign_in", await flows.sign_in(self.session, self.username,
                                                              srv.PASSWORD))
                return
            except FAILURES as exc:
                self.tally.errors.append(f"sign_in: {type(exc).__name__}: {str(exc)[:200]}")
                await self.session.close()
                self.session = Session(self.url)
        raise RuntimeError(f"client {self.index + 1} could not sign in")

    async def think(self) -> None:
        await asyncio.sleep(self.rng.uniform(0.5, 1.5) * self.think_s)

    async def _open(self, title: str) -> bool:
        return not self.broken and await self._step(
            "open_page", flows.open_page(self.session, title)) is not None

    async def round(self) -> None:
        """One pass through the clinic's mix (``load_clinicians.Client.round``)."""
        self.broken = False
        if await self._open("Candidate review"):
            await self.think()
            await self._step("page_list", flows.page_list(self.session, self.rng))
            await self.think()
            if not self.broken:
                await self._step("open_patient", flows.open_patient(
                    self.session, self.rng.choice(self.everyone)))
        await self.think()
        if self.pool and await self._open("Treatment progress"):
            patient_id, day = self.pool.pop(0)
            await self.think()
            saved = await self._step("record_session",
                                     flows.record_session(self.session, patient_id, day))
            if saved is not None:
                self.tally.saved.append((patient_id, saved[1]))
        await self.think()
        if await self._open("What-if explorer"):
            for _ in range(2):
                if not self.broken:
                    await self.think()
                    await self._step("what_if", flows.what_if(self.session, self.rng))
        await self.think()


async def drive(url: str, sessions: int, minutes: float, think_s: float,
                sampler: srv.RssSampler, home: Path) -> dict[str, Any]:
    """The clients, as ``load_clinicians`` schedules them: one warm round alone, the
    others arriving ``ARRIVAL_S`` apart for their warm round, then all for ``minutes``."""
    pool, everyone = srv.work_pool(home)
    clients = [Client(i, url, pool[i::sessions], everyone, think_s) for i in range(sessions)]
    result = await browser.schedule(clients, sampler, minutes,
                                    lambda client, delay: client.sign_in(delay))
    for client in clients:
        await client.session.close()
    return result


def run(sessions: int, minutes: float, home: Path | None = None,
        think_s: float = 3.0) -> dict[str, Any]:
    """The whole measurement (``load_clinicians.run`` with the websocket clients)."""
    return {"client": "websocket (no browser)",
            **browser.run(sessions, minutes, home, think_s, drive=drive)}


@register("load_ws")
def load_ws(ctx: Context) -> dict[str, Any]:
    """20 websocket clinicians for 5 minutes (2 for 1 minute with --quick)."""
    result = run(2, 1.0) if ctx.quick else run(20, 5.0)
    result.pop("rss_samples", None)
    return {**result, "rows": browser.rows(result)}


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    return browser.cli(argv, run, "websocket sessions", RESULTS, __doc__.splitlines()[0])


if __name__ == "__main__":
    raise SystemExit(main())
