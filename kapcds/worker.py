"""The training worker: runs queued jobs from the store outside the dashboard process.

``python -m kapcds.worker`` (or ``kapcds worker``). One worker per data folder (a file lock
in ``base.settings.jobs_dir()``; a second one exits at once). On start it marks jobs left
"running" by a stopped worker as interrupted, then polls for queued jobs, runs each with
``train_model_set`` (progress, log and a heartbeat written to the job), registers the
candidate itself (never promoted) and audits it under the user who submitted the job. Jobs
of kind "update" / "train_from_store" run ``kapcds.updating`` on the store (the CLI's code
path; an update's per-outcome result is kept on the job). It
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


_ACTIONS = {"update": "model_update"}


def _kind(job: TrainingJob) -> str:
    """What a job asks for: "train" (the lab's data sources), "train_from_store" or
    "update" (issue 29: the clinic's own patients, the CLI's code path)."""
    return str((job.parameters or {}).get("kind", "train"))


def _work(job: TrainingJob, registry_dir: Path, report, engine: Engine
          ) -> tuple[str | None, str, dict | None]:
    """Run one job's work: (registered version or None, message, plain result)."""
    params = dict(job.parameters)
    seed, n_boot = int(params.get("seed", 0)), int(params.get("n_bootstrap", 200))
    if _kind(job) == "update":
        from kapcds.updating import store_clinic, update_version

        clinic = store_clinic(engine)
        report(1, 3, f"updating on {clinic.describe()}")
        run = update_version(Registry(registry_dir), params.get("version"), clinic,
                             str(params.get("method", "auto")), job.created_by, seed, n_boot,
                             params.get("outcomes") or None)
        message = (f"registered candidate {run.version}" if run.version
                   else "every outcome kept as it is: nothing registered")
        return run.version, message, run.as_dict()
    if _kind(job) == "train_from_store":
        from kapcds.updating import train_from_store

        version = train_from_store(registry_dir, job.created_by, seed, report, engine, n_boot,
                                   params.get("params"))
        return version, f"registered candidate {version}", None
    patients, sessions = load_job_data(job.data)
    result = train_model_set(
        patients, sessions, params=params.get("params"), seed=seed, n_bootstrap=n_boot,
        progress=report, data_description={**data_description(job.data), "job": job.id,
                                           "trained_by": job.created_by})
    card = {**result.card, "trained_by": job.created_by}  # who started the job
    version = Registry(registry_dir).register(result.model_set, card)
    return version, f"registered candidate {version}", None


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
        version, message, result = _work(job, registry_dir, report, engine)
        jobs.finish(engine, job.id, "done", result_version=version, message=message,
                    result=result)
        record_now(engine, actor, _ACTIONS.get(_kind(job), "model_training"), MODEL,
                   detail=f"job {job.id}: {message} ({job.description})")
        return "done"
    except JobCancelled:
        jobs.finish(engine, job.id, "cancelled", message="cancelled on request")
        return "cancelled"
    except Exception as error:  # noqa: BLE001 - recorded on the job, the worker goes on
        log.exception("training job %s failed", job.id)
        jobs.finish(engine, job.id, "failed", error=f"{type(error).__name__}: {error}"[:2000],
                    message="failed")
        record_now(engine, actor, _ACTIONS.get(_kind(job), "model_training"), MODEL,
                   outcome="failure",
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
