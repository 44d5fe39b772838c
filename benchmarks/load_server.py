"""The server side of the clinician load test: a home with a seeded store, a trained model
and N clinician accounts; ``kapcds dashboard`` on 127.0.0.1; its memory sampled from
/proc; the store's session rows counted before and after.

SQLite stores only (the store file in ``KAPCDS_HOME``): the counts read it directly, as
the browser tests do.
"""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "load clinician password"
STARTUP_TIMEOUT = 900.0  # a first start trains a model


def server_env(home: Path) -> dict[str, str]:
    """The environment of every process on ``home`` (SQLite, cheap bcrypt for tests)."""
    env = {**os.environ, "KAPCDS_HOME": str(home), "KAPCDS_BCRYPT_ROUNDS": "4",
           "KAPCDS_ADMIN_PASSWORD": "load administrator password"}
    env.pop("KAPCDS_DATABASE_URL", None)
    return env


ADD_USERS = """
import sys
from kapcds.common import operator, with_session
from records.security.users import create_user, get_user
names, password = sys.argv[1:-1], sys.argv[-1]
def add(session):
    for name in names:
        if get_user(session, name) is None:
            create_user(session, name, password, "clinician", operator())
with_session(add)
"""


def prepare_home(home: Path, accounts: list[str]) -> None:
    """Seed the store and train a model if the home is new; add the clinician accounts
    (through the records API, in one process, as ``kapcds users add`` does one by one)."""
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "kapcds.sqlite3").exists():
        log.info("bootstrapping %s (store and first model)", home)
    subprocess.run([sys.executable, "-c", "from dashboard.services.startup import "
                    "ensure_ready; ensure_ready()"], env=server_env(home), cwd=ROOT, check=True,
                   timeout=STARTUP_TIMEOUT)
    add_clinicians(home, accounts)


def add_clinicians(home: Path, accounts: list[str]) -> None:
    """Clinician accounts with ``PASSWORD`` (those already there are kept as they are)."""
    subprocess.run([sys.executable, "-c", ADD_USERS, *accounts, PASSWORD],
                   env=server_env(home), cwd=ROOT, check=True, timeout=300)


def free_port() -> int:
    """A free port, within ``KAPCDS_E2E_PORTS`` (e.g. ``8650-8669``) when set."""
    first, last = 0, 0
    if os.environ.get("KAPCDS_E2E_PORTS"):
        first, last = (int(p) for p in os.environ["KAPCDS_E2E_PORTS"].split("-"))
    for port in range(first, last + 1):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise RuntimeError(f"no free port in KAPCDS_E2E_PORTS={first}-{last}")


def start_server(home: Path, port: int) -> subprocess.Popen:
    """``kapcds dashboard`` (it execs Streamlit, so the pid is the server's) until healthy."""
    log_path = home / "streamlit.log"
    with open(log_path, "w", encoding="utf-8") as out:
        process = subprocess.Popen([sys.executable, "-m", "kapcds.cli", "dashboard", "--port",
                                    str(port), "--address", "127.0.0.1"],
                                   env=server_env(home), cwd=ROOT, stdout=out,
                                   stderr=subprocess.STDOUT)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"dashboard exited early:\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health",
                                        timeout=2) as response:
                if response.read().decode().strip() == "ok":
                    return process
        except OSError:
            pass
        time.sleep(0.5)
    process.kill()
    raise RuntimeError("dashboard not healthy in time")


def stop_server(process: subprocess.Popen) -> None:
    """Terminate the server this run started (kill it if it does not stop in 15 s)."""
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


def _status_kib(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (from /proc/<pid>/task/*/children)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                todo.extend(int(c) for c in task.read_text().split())
            except OSError:
                continue
    return found


@dataclass
class RssSampler:
    """Samples VmRSS of the server and its children (summed) and the server's VmHWM."""

    pid: int
    every_s: float = 1.0
    peak_tree_kib: int = 0
    samples: list[tuple[float, int]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def now_kib(self) -> int:
        return sum(_status_kib(p, "VmRSS") for p in _tree(self.pid))

    def hwm_kib(self) -> int:
        return _status_kib(self.pid, "VmHWM")

    def _run(self) -> None:
        started = time.monotonic()
        while not self._stop.wait(self.every_s):
            rss = self.now_kib()
            self.peak_tree_kib = max(self.peak_tree_kib, rss)
            self.samples.append((round(time.monotonic() - started, 1), rss))

    def start(self) -> RssSampler:
        threading.Thread(target=self._run, name="rss-sampler", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()


SESSION_COUNT = ("SELECT COUNT(*) FROM sessions s JOIN patients p ON p.id = s.patient_pk "
                 "WHERE p.patient_id = ? AND s.session_number = ?")


def store_path(home: Path) -> Path:
    return home / "kapcds.sqlite3"


def count_sessions(home: Path) -> int:
    with sqlite3.connect(store_path(home)) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM sessions").fetchone()[0])


def stored_once(home: Path, saved: list[tuple[str, int]]) -> dict[str, int]:
    """How many of the sessions the clients saw saved are stored once, not at all, twice."""
    out = {"stored_once": 0, "missing": 0, "duplicated": 0}
    with sqlite3.connect(store_path(home)) as conn:
        for patient_id, number in saved:
            n = int(conn.execute(SESSION_COUNT, (patient_id, number)).fetchone()[0])
            out["stored_once" if n == 1 else "missing" if n == 0 else "duplicated"] += 1
    return out


def work_pool(home: Path) -> tuple[list[tuple[str, int]], list[str]]:
    """Patients who may get another induction session without a past-the-plan question
    (fewer sessions than planned), each with a next day index; and every patient id."""
    with sqlite3.connect(store_path(home)) as conn:
        room = conn.execute(
            "SELECT p.patient_id, COALESCE(MAX(s.day), 0) + 7 FROM patients p "
            "LEFT JOIN sessions s ON s.patient_pk = p.id GROUP BY p.id "
            "HAVING COUNT(s.id) < p.planned_sessions ORDER BY p.patient_id").fetchall()
        everyone = [r[0] for r in conn.execute("SELECT patient_id FROM patients")]
    return [(str(pid), int(day)) for pid, day in room], everyone
