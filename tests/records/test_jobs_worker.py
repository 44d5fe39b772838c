"""Durable training jobs (issue 14, part 2): a job runs in a separate worker process,
registers its candidate itself, can be cancelled, and a job whose worker is killed (a
restart) is marked interrupted while the restarted worker runs the next one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine

from base import settings
from models.store.registry import Registry
from records import jobs
from records.db import make_engine, session_factory
from records.migrate import upgrade

TINY = {"source": "generated", "n": 300, "seed": 3, "effect_settings": {}}
PARAMS = {"seed": 0, "n_bootstrap": 10, "params": {"learning_rate": 0.2}}
SLOW = {"seed": 0, "n_bootstrap": 400, "params": {"learning_rate": 0.005}}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Engine:
    monkeypatch.setenv("KAPCDS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("KAPCDS_DATABASE_URL", raising=False)
    engine = make_engine()
    upgrade(engine)
    yield engine
    engine.dispose()


def start_worker(idle_exit: float = 60) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "kapcds.worker", "--idle-exit",
                             str(idle_exit)], env=dict(os.environ),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def submit(engine: Engine, params: dict, user: str = "ana") -> str:
    with session_factory(engine)() as session:
        job = jobs.submit_job(session, user, "tiny cohort", TINY, params)
        session.commit()
        return job.id


def wait_for(engine: Engine, job_id: str, done: Callable[[object], bool],
             timeout: float = 300) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with session_factory(engine)() as session:
            job = jobs.get_job(session, job_id)
        if done(job):
            return job
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} still {job.status}: {job.message}")


def test_job_survives_a_worker_restart_as_interrupted_and_the_next_one_runs(home) -> None:
    first = submit(home, SLOW, user="ana")
    worker = start_worker()
    try:
        wait_for(home, first, lambda j: j.status == "running" and j.step >= 2)
        os.kill(worker.pid, signal.SIGKILL)  # the server restarts, the worker dies with it
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
    second = submit(home, PARAMS, user="ben")
    restarted = start_worker(idle_exit=5)
    try:
        job = wait_for(home, second, lambda j: j.status in jobs.FINISHED)
        assert job.status == "done", job.error
        assert restarted.wait(timeout=120) == 0  # exits by itself once idle
    finally:
        if restarted.poll() is None:
            restarted.kill()
    with session_factory(home)() as session:
        interrupted = jobs.get_job(session, first)
        listed = [j.id for j in jobs.list_jobs(session)]
    assert interrupted.status == "interrupted" and "restart" in interrupted.message
    assert set(listed) == {first, second}  # every user's jobs
    registry = Registry(settings.default_registry_dir())
    _, card = registry.load(job.result_version)  # registered by the job, not promoted
    assert registry.current_version() is None
    assert card["training_data"]["job"] == second
    assert "generated" in card["training_data"]["source"]
    assert "[1/" in job.log and "registered candidate" in job.message


def test_cancel_stops_a_running_job_and_ends_a_queued_one(home) -> None:
    running = submit(home, SLOW)
    queued = submit(home, PARAMS)
    worker = start_worker(idle_exit=3)
    try:
        wait_for(home, running, lambda j: j.status == "running" and j.step >= 2)
        with session_factory(home)() as session:
            jobs.request_cancel(session, queued)
            jobs.request_cancel(session, running)
            session.commit()
        job = wait_for(home, running, lambda j: j.status in jobs.FINISHED)
        assert worker.wait(timeout=120) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
    assert job.status == "cancelled" and job.result_version is None
    with session_factory(home)() as session:
        assert jobs.get_job(session, queued).status == "cancelled"
    assert not (Path(settings.default_registry_dir()) / "versions").exists() or not any(
        (Path(settings.default_registry_dir()) / "versions").iterdir())


def test_a_second_worker_exits_while_one_runs(home) -> None:
    first = start_worker(idle_exit=30)
    try:
        time.sleep(3)
        second = start_worker(idle_exit=30)
        assert second.wait(timeout=60) == 0
        assert first.poll() is None
    finally:
        first.kill()
        first.wait()


def test_failed_job_reports_its_error(home) -> None:
    with session_factory(home)() as session:
        job = jobs.submit_job(session, "ana", "bad", {"source": "nowhere"}, PARAMS)
        session.commit()
        job_id = job.id
    worker = start_worker(idle_exit=3)
    try:
        job = wait_for(home, job_id, lambda j: j.status in jobs.FINISHED)
    finally:
        worker.wait(timeout=60)
    assert job.status == "failed" and "unknown training data source 'nowhere'" in job.error
