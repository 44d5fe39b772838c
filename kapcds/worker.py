"""The training worker: runs queued jobs from the store outside the dashboard process.

``python -m kapcds.worker`` (or ``kapcds worker``). One worker per data folder (a file lock
in ``base.settings.jobs_dir()``; a second one exits at once). On start it marks jobs left
"running" by a stopped worker as interrupted, then polls for queued jobs, runs each with
``train_model_set`` (progress, log and a heartbeat written to the job), registers the
candidate itself (never promoted) and audits it under the user who submitted the job. It
exits after ``--idle-exit`` seconds without work; the dashboard starts it again on demand.
"""

from __future__ import annotations

import argparse
import fcntl
import logging
import os
import threading
import time
from pathlib import Path

from sqlalchemy import Engine

from base import settings
from models.store.registry import Registry
from records import jobs
from records.audit.trail import record_now
from records.db import make_engine
from records.migrate import upgrade
from records.security.policy import DATA_SCIENTIST, MODEL, Actor
from records.tables.lifecycle import TrainingJob
from training.lifecycle.job_data import data_description, load_job_data
from training.train import train_model_set

log = logging.getLogger(__name__)
LOCK_FILE = "worker.lock"
HEARTBEAT_SECONDS = 5.0


class JobCancelled(Exception):
    """A cancel was requested while the job ran."""


def worker_lock(folder: Path) -> object | None:
    """The worker lock (held while the returned handle is open), None if another holds it."""
    folder.mkdir(parents=True, exist_ok=True)
    handle = open(folder / LOCK_FILE, "a+", encoding="utf-8")  # noqa: SIM115 - held open
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def _beat(engine: Engine, job_id: str, stop: threading.Event) -> None:
    while not stop.wait(HEARTBEAT_SECONDS):
        jobs.heartbeat(engine, job_id)


def run_job(engine: Engine, job: TrainingJob, registry_dir: Path) -> str:
    """Train, register and audit one claimed job; returns its final status."""
    stop = threading.Event()
    beat = threading.Thread(target=_beat, args=(engine, job.id, stop), daemon=True)
    beat.start()

    def report(step: int, total: int, message: str) -> None:
        if jobs.progress(engine, job.id, step, total, message):
            raise JobCancelled()

    actor = Actor(job.created_by, DATA_SCIENTIST)
    try:
        report(0, 1, "loading the training data")
        patients, sessions = load_job_data(job.data)
        params = dict(job.parameters)
        result = train_model_set(
            patients, sessions, params=params.get("params"), seed=int(params.get("seed", 0)),
            n_bootstrap=int(params.get("n_bootstrap", 200)), progress=report,
            data_description={**data_description(job.data), "job": job.id,
                              "trained_by": job.created_by})
        card = {**result.card, "trained_by": job.created_by}  # who started the job
        version = Registry(registry_dir).register(result.model_set, card)
        jobs.finish(engine, job.id, "done", result_version=version,
                    message=f"registered candidate {version}")
        record_now(engine, actor, "model_training", MODEL,
                   detail=f"job {job.id}: candidate {version} ({job.description})")
        return "done"
    except JobCancelled:
        jobs.finish(engine, job.id, "cancelled", message="cancelled on request")
        return "cancelled"
    except Exception as error:  # noqa: BLE001 - recorded on the job, the worker goes on
        log.exception("training job %s failed", job.id)
        jobs.finish(engine, job.id, "failed", error=f"{type(error).__name__}: {error}"[:2000],
                    message="failed")
        record_now(engine, actor, "model_training", MODEL, outcome="failure",
                   detail=f"job {job.id}: {type(error).__name__}: {error}"[:2000])
        return "failed"
    finally:
        stop.set()
        beat.join(timeout=1)


def run_worker(idle_exit: float = 120.0, poll: float = 1.0,
               registry_dir: Path | None = None) -> int:
    """Run jobs until idle for ``idle_exit`` seconds; 0 also when another worker runs."""
    lock = worker_lock(settings.jobs_dir())
    if lock is None:
        log.info("another worker is running; exiting")
        return 0
    engine = make_engine()
    try:
        upgrade(engine)
        interrupted = jobs.mark_interrupted(engine)
        if interrupted:
            log.warning("marked %d job(s) interrupted: %s", len(interrupted), interrupted)
        registry_dir = registry_dir or settings.default_registry_dir()
        idle_since = time.monotonic()
        while time.monotonic() - idle_since < idle_exit:
            job = jobs.claim_next(engine, os.getpid())
            if job is None:
                time.sleep(poll)
                continue
            log.info("job %s: %s", job.id, run_job(engine, job, registry_dir))
            idle_since = time.monotonic()
        return 0
    finally:
        engine.dispose()
        lock.close()  # type: ignore[attr-defined]


def main(argv: list[str] | None = None) -> int:
    """``python -m kapcds.worker [--idle-exit SECONDS]``."""
    parser = argparse.ArgumentParser(prog="python -m kapcds.worker")
    parser.add_argument("--idle-exit", type=float, default=120.0,
                        help="exit after this many seconds without a job (default 120)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    return run_worker(idle_exit=args.idle_exit)


if __name__ == "__main__":
    raise SystemExit(main())
