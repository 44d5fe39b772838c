"""``python -m benchmarks.load_clinicians --sessions 20 --minutes 5``: many clinicians at once
(issue 31 item 3).

One ``kapcds dashboard`` on 127.0.0.1 (its own KAPCDS_HOME: seeded store, trained model, one
clinician account per session) and one headless Chromium with N contexts, each signed in
as its own clinician, doing a clinic's mix for the duration: page the Candidate review list,
open a patient there, record a session in Treatment progress (a real save through the
form, each for a patient nobody else is writing to), change a dose in the What-if explorer;
with a pause between interactions. Reported: p50/p95 per interaction (until the page shows
the result), errors (exceptions, timeouts, Streamlit exception boxes), the server's peak
RSS (server and children, sampled each second; the server's VmHWM), the RSS once one
session and once all N are warm (per-session growth), the load average before and after,
and the writes: every session a client saw saved must be stored exactly once.
``--quick``: 2 sessions for 1 minute.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from base.files import write_atomically
from benchmarks import load_flows as flows
from benchmarks import load_server as srv
from benchmarks.common import Context, register

log = logging.getLogger("benchmarks.load_clinicians")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-renderer-backgrounding", "--disable-background-timer-throttling",
                 "--disable-backgrounding-occluded-windows"]
RESULTS = Path(__file__).resolve().parent / "results" / "issue31_load.json"
ARRIVAL_S = 1.5  # between two clinicians' sign-ins (a burst of 19 at once: see README)
KINDS = ("sign_in", "open_page", "page_list", "open_patient", "record_session", "what_if")


class Client:
    """One clinician: a browser context, its own account, its own patients to write to."""

    def __init__(self, index: int, context: Any, url: str,
                 pool: list[tuple[str, int]], everyone: list[str], think_s: float) -> None:
        self.index, self.context, self.url = index, context, url
        self.pool, self.everyone, self.think_s = pool, everyone, think_s
        self.rng = random.Random(20261207 + index)
        self.tally, self.page, self.broken = flows.Tally(), None, False

    async def _step(self, kind: str, work: Any) -> Any:
        """Run one interaction; an exception or an exception box counts as an error."""
        try:
            result = await work
        except Exception as exc:  # noqa: BLE001 (every failure is counted, the run goes on)
            self.tally.errors.append(f"{kind}: {type(exc).__name__}: {str(exc)[:200]}")
            log.warning("client %d %s failed: %s", self.index, kind, str(exc)[:300])
            self.broken = True  # the rest of this round is skipped
            await self._shot(kind)
            await self._recover()
            return None
        if boxes := await flows.shown_exceptions(self.page):
            self.tally.errors.append(f"{kind}: {boxes} exception box(es) shown")
        seconds = result[0] if isinstance(result, tuple) else result
        if seconds is not None:
            self.tally.add(kind, seconds)
        return result

    async def _shot(self, kind: str) -> None:
        """A screenshot of the failure, when ``KAPCDS_LOAD_SHOTS`` names a folder."""
        folder = os.environ.get("KAPCDS_LOAD_SHOTS")
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            name = f"client{self.index + 1:02d}_{kind}_{len(self.tally.errors)}.png"
            try:
                await self.page.screenshot(path=str(Path(folder) / name))
            except Exception:  # noqa: BLE001
                log.warning("no screenshot of client %d", self.index)

    async def _recover(self) -> None:
        """After an error, start again from a fresh load of the app (still signed in)."""
        try:
            await self.page.goto(self.url)
            await flows.wait_idle(self.page, 1000)
        except Exception:  # noqa: BLE001
            log.warning("client %d could not reload", self.index)

    async def sign_in(self, username: str, delay_s: float = 0.0) -> None:
        """Sign in after ``delay_s`` (clinicians arrive one after another); a failed
        sign-in counts as an error and is tried again, up to three times."""
        await asyncio.sleep(delay_s)
        self.page = await self.context.new_page()
        self.page.set_default_timeout(flows.TIMEOUT_MS)
        for _ in range(3):
            started = time.perf_counter()
            try:
                await flows.sign_in(self.page, self.url, username, srv.PASSWORD)
            except Exception as exc:  # noqa: BLE001 (counted; tried again)
                self.tally.errors.append(f"sign_in: {type(exc).__name__}: {str(exc)[:300]}")
                await self._shot("sign_in")
                continue
            self.tally.add("sign_in", time.perf_counter() - started)
            return
        raise RuntimeError(f"client {self.index + 1} could not sign in")

    async def _menu(self, title: str) -> float:
        started = time.perf_counter()
        await flows.open_menu(self.page, title)
        return time.perf_counter() - started

    async def think(self) -> None:
        await asyncio.sleep(self.rng.uniform(0.5, 1.5) * self.think_s)

    async def round(self) -> None:
        """One pass through the clinic's mix."""
        page, self.broken = self.page, False
        if await self._step("open_page", self._menu("Candidate review")) is not None:
            await self.think()
            await self._step("page_list", flows.page_list(page, self.rng))
            await self.think()
            if not self.broken:
                await self._step("open_patient",
                                 flows.open_patient(page, self.rng.choice(self.everyone)))
        await self.think()
        if not self.broken and self.pool and await self._step("open_page",
                                         self._menu("Treatment progress")) is not None:
            patient_id, day = self.pool.pop(0)
            await self.think()
            saved = await self._step("record_session", flows.record_session(page, patient_id,
                                                                            day))
            if saved is not None:
                self.tally.saved.append((patient_id, saved[1]))
        await self.think()
        if not self.broken and await self._step("open_page",
                                                self._menu("What-if explorer")) is not None:
            for _ in range(2):
                if self.broken:
                    break
                await self.think()
                await self._step("what_if", flows.what_if(page, self.rng))
        await self.think()


def stats(values: list[float]) -> dict[str, Any]:
    """n, median, 95th centile and maximum of one interaction's times (s)."""
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)

    return {"n": len(values), "p50_s": round(statistics.median(values), 2), "p95_s": at(0.95),
            "max_s": round(ordered[-1], 2)}


async def schedule(clients: list[Any], sampler: srv.RssSampler, minutes: float,
                   sign_in: Callable[[Any, float], Awaitable[None]]) -> dict[str, Any]:
    """How both load tests run their clients: one warm round alone (RSS with one session),
    the others arriving ``ARRIVAL_S`` apart for their warm round (RSS with all), then every
    client in rounds for ``minutes``; the warm rounds are not timed (but their sign-ins are)."""
    warm: dict[str, int] = {"before_kib": sampler.now_kib()}
    await sign_in(clients[0], 0.0)
    await clients[0].round()
    warm["one_session_kib"] = sampler.now_kib()
    await asyncio.gather(*(sign_in(c, ARRIVAL_S * i) for i, c in enumerate(clients[1:])))
    await asyncio.gather(*(c.round() for c in clients[1:]))
    warm["all_sessions_kib"] = sampler.now_kib()
    for client in clients:
        client.tally.times = {"sign_in": client.tally.times.get("sign_in", [])}
    load_start = Path("/proc/loadavg").read_text().strip()
    deadline = time.monotonic() + minutes * 60
    rounds = [0]

    async def loop(client: Any) -> None:
        while time.monotonic() < deadline:
            await client.round()
            rounds[0] += 1

    await asyncio.gather(*(loop(c) for c in clients))
    return {"clients": clients, "warm": warm, "rounds": rounds[0], "load_start": load_start}


async def _drive(url: str, sessions: int, minutes: float, think_s: float,
                 sampler: srv.RssSampler, home: Path) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    pool, everyone = srv.work_pool(home)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                   args=CHROMIUM_ARGS)
        clients = [Client(i, await browser.new_context(viewport={"width": 1280, "height": 900}),
                          url, pool[i::sessions], everyone, think_s) for i in range(sessions)]
        result = await schedule(clients, sampler, minutes, lambda c, delay: c.sign_in(
            f"load-clinician-{c.index + 1:02d}", delay))
        await browser.close()
    return result


def run(sessions: int, minutes: float, home: Path | None = None,
        think_s: float = 3.0, drive: Any = None) -> dict[str, Any]:
    """The whole measurement; a temporary home (removed afterwards) unless one is given.
    ``drive`` (default: the browser's) runs the clients: ``benchmarks.load_ws`` passes
    its websocket driver, with the same arguments and the same returned facts."""
    owned = home is None
    home = home or Path(tempfile.mkdtemp(prefix="kapcds-load-"))
    accounts = [f"load-clinician-{i + 1:02d}" for i in range(sessions)]
    srv.prepare_home(home, accounts)
    load_before = Path("/proc/loadavg").read_text().strip()
    writes_before = srv.count_sessions(home)
    server = srv.start_server(home, srv.free_port())
    sampler = srv.RssSampler(server.pid).start()
    url = f"http://127.0.0.1:{server.args[server.args.index('--port') + 1]}"
    started = time.monotonic()
    try:
        driven = asyncio.run((drive or _drive)(url, sessions, minutes, think_s, sampler, home))
    finally:
        sampler.stop()
        hwm = sampler.hwm_kib()
        srv.stop_server(server)
    load_after = Path("/proc/loadavg").read_text().strip()
    clients: list[Client] = driven["clients"]
    times: dict[str, list[float]] = {}
    for client in clients:
        for kind, values in client.tally.times.items():
            times.setdefault(kind, []).extend(values)
    saved = [s for c in clients for s in c.tally.saved]
    errors = [f"client {c.index + 1}: {e}" for c in clients for e in c.tally.errors]
    written = srv.count_sessions(home) - writes_before
    warm = driven["warm"]
    result = {
        "sessions": sessions, "minutes": minutes, "think_s": think_s,
        "wall_s": round(time.monotonic() - started, 1), "rounds": driven["rounds"],
        "interactions": sum(len(v) for k, v in times.items() if k != "sign_in"),
        "per_interaction": {k: stats(times[k]) for k in KINDS if times.get(k)},
        "errors": len(errors), "error_messages": errors[:50],
        "peak_rss_mib": round(sampler.peak_tree_kib / 1024), "server_vmhwm_mib": round(hwm / 1024),
        "rss_one_session_mib": round(warm["one_session_kib"] / 1024),
        "rss_all_sessions_mib": round(warm["all_sessions_kib"] / 1024),
        "rss_per_extra_session_mib": round((warm["all_sessions_kib"] - warm["one_session_kib"])
                                           / 1024 / max(1, sessions - 1), 1),
        "writes_expected": len(saved), "writes_stored": written, **srv.stored_once(home, saved),
        "load_before": load_before, "load_at_start": driven["load_start"],
        "load_after": load_after, "rss_samples": sampler.samples}
    if owned:
        shutil.rmtree(home, ignore_errors=True)
    return result


def rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One table row per interaction type."""
    return [{"interaction": kind, **stats} for kind, stats in result["per_interaction"].items()]


def markdown(result: dict[str, Any]) -> str:
    """The result as the README's tables (interactions, then the run's facts)."""
    lines = ["| interaction | n | p50 | p95 | max |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {r['interaction']} | {r['n']} | {r['p50_s']:.2f} s | {r['p95_s']:.2f} s | "
              f"{r['max_s']:.2f} s |" for r in rows(result)]
    facts = [("sessions × minutes", f"{result['sessions']} × {result['minutes']:g} "
              f"(think {result['think_s']:g} s; wall {result['wall_s']:.0f} s)"),
             ("interactions done (timed, after the warm-up round)",
              f"{result['interactions']} in {result['rounds']} rounds"),
             ("errors (exceptions, timeouts > 90 s, exception boxes)", str(result["errors"])),
             ("peak RSS, server + children (server VmHWM)",
              f"{result['peak_rss_mib']:,} MiB ({result['server_vmhwm_mib']:,} MiB)"),
             ("RSS warm with 1 session / all sessions (per extra session)",
              f"{result['rss_one_session_mib']:,} / {result['rss_all_sessions_mib']:,} MiB "
              f"({result['rss_per_extra_session_mib']:g} MiB)"),
             ("writes the clients saw saved / new rows in the store",
              f"{result['writes_expected']} / {result['writes_stored']} (stored once "
              f"{result['stored_once']}, missing {result['missing']}, duplicated "
              f"{result['duplicated']})"),
             ("/proc/loadavg before / at the timed start / after",
              " / ".join(" ".join(str(result[k]).split()[:3])
                         for k in ("load_before", "load_at_start", "load_after")))]
    return "\n".join([*lines, "", "| | |", "|---|---|", *(f"| {k} | {v} |" for k, v in facts)])


@register("load_clinicians")
def load_clinicians(ctx: Context) -> dict[str, Any]:
    """20 clinicians for 5 minutes (2 for 1 minute with --quick)."""
    result = run(2, 1.0) if ctx.quick else run(20, 5.0)
    result.pop("rss_samples", None)
    return {**result, "rows": rows(result)}


def cli(argv: list[str] | None, run_mix: Callable[..., dict[str, Any]], clients: str,
        results: Path, description: str) -> int:
    """The command line both load tests share (browser and websocket): run the mix, write
    the JSON, log the summary and the markdown table; exit 1 on any error or lost write."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--sessions", type=int, default=20, help=f"{clients} at once")
    parser.add_argument("--minutes", type=float, default=5.0, help="duration of the mix")
    parser.add_argument("--think", type=float, default=3.0,
                        help="mean pause between one clinician's interactions (s)")
    parser.add_argument("--quick", action="store_true", help="2 sessions for 1 minute")
    parser.add_argument("--home", type=Path, default=None,
                        help="KAPCDS_HOME to use and keep (default: a temporary one)")
    parser.add_argument("--out", type=Path, default=results, help="JSON results path")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    sessions, minutes = (2, 1.0) if args.quick else (args.sessions, args.minutes)
    result = run_mix(sessions, minutes, args.home, args.think)
    write_atomically(args.out, json.dumps(result, indent=2) + "\n")
    summary = {k: v for k, v in result.items() if k not in ("rss_samples", "error_messages")}
    log.info("result: %s", json.dumps(summary, indent=1))
    log.info("as markdown:\n%s", markdown(result))
    log.info("wrote %s", args.out)
    return 0 if result["errors"] == 0 and result["missing"] == result["duplicated"] == 0 else 1


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    return cli(argv, run, "browser sessions", RESULTS, __doc__.splitlines()[0])


if __name__ == "__main__":
    raise SystemExit(main())
