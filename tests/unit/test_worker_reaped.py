"""A finished training worker is reaped, not left as a zombie (issue 30)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from dashboard.services.lab import jobs


def test_a_finished_worker_is_reaped(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KAPCDS_HOME", str(tmp_path))
    started: list[subprocess.Popen] = []
    real_popen = subprocess.Popen

    def quick_worker(args, **kwargs):  # the real spawn path, with a worker that exits at once
        process = real_popen([sys.executable, "-c", "pass"], **kwargs)
        started.append(process)
        return process

    monkeypatch.setattr(jobs.subprocess, "Popen", quick_worker)
    monkeypatch.setattr(jobs, "worker_running", lambda: False)
    (tmp_path / "jobs").mkdir()
    assert jobs.ensure_worker()
    deadline = time.monotonic() + 30
    while started[0].returncode is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert started[0].returncode == 0  # waited for: no zombie left behind
    status = Path(f"/proc/{started[0].pid}/status")
    assert not status.exists() or "zombie" not in status.read_text()
