"""Model lab training jobs: submit to the store, start the worker process, list every job.

The worker (``python -m kapcds.worker``) runs outside the Streamlit process, in its own
session, so a closed browser or a restarted dashboard does not stop a job; a job whose
worker died is marked interrupted (``records.jobs.mark_interrupted``).
"""

from __future__ import annotations

import fcntl
import logging
import shutil
import subprocess
import sys
import threading
import uuid
from datetime import timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from base import settings
from base.files import write_atomically
from records import jobs
from records.db import session_factory
from records.submissions import submit_once
from training.lifecycle.job_data import seal_upload

log = logging.getLogger(__name__)
WORKER_MODULE = "kapcds.worker"
STALE = timedelta(minutes=2)  # no heartbeat for this long: its worker is gone
STATUS_LABELS = {"queued": "queued", "running": "running", "done": "done",
                 "failed": "failed", "cancelled": "cancelled",
                 "interrupted": "interrupted (restart)"}


def worker_running() -> bool:
    """Whether a worker holds the lock in this data folder."""
    folder = settings.jobs_dir()
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "worker.lock", "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def ensure_worker() -> bool:
    """Start a detached worker unless one runs; True when one was started."""
    if worker_running():
        return False
    log_file = open(settings.jobs_dir() / "worker.log", "ab")  # noqa: SIM115 - the child's
    worker = subprocess.Popen([sys.executable, "-m", WORKER_MODULE], stdout=log_file,
                              stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                              start_new_session=True)  # outlives the dashboard process
    log_file.close()
    # Reap it when it ends, so a finished worker does not stay behind as a zombie process.
    threading.Thread(target=worker.wait, name="reap-training-worker", daemon=True).start()
    log.info("started a training worker")
    return True


def submit(engine: Engine, username: str, description: str, data: dict[str, Any],
           parameters: dict[str, Any],
           upload: tuple[pd.DataFrame, pd.DataFrame] | None = None,
           token: str | None = None) -> str:
    """Queue a job (validated uploads saved for the worker) and make sure a worker runs.

    ``token``: the lab form's submission token; a repeat (a double click) queues nothing
    and returns the first job's id (``records.submissions``).
    """
    job_id = uuid.uuid4().hex[:12]
    asked = {"description": description, "data": data, "parameters": parameters,
             "upload_rows": [len(upload[0]), len(upload[1])] if upload is not None else None}
    folder = None
    if upload is not None:
        folder = settings.jobs_dir() / job_id
        folder.mkdir(parents=True, exist_ok=True)
        write_atomically(folder / "patients.csv", _plain_csv(upload[0]))
        write_atomically(folder / "sessions.csv", _plain_csv(upload[1]))
        seal_upload(folder)  # the worker refuses files changed after this
        data = {**data, "source": "upload", "folder": str(folder)}
    with session_factory(engine)() as session:
        def write() -> str:
            jobs.submit_job(session, username, description, data, parameters, job_id=job_id)
            return job_id

        done = submit_once(session, token, "lab_job", asked, write, username=username)
        session.commit()
    if done.repeated:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)  # this repeat's copy is never used
        log.info("a repeated lab job submission queued nothing")
        return str(done.result)
    ensure_worker()
    return job_id


def _plain_csv(frame: pd.DataFrame) -> str:
    """A validated frame back to the CSV the loaders read (yes/no as true/false)."""
    out = frame.copy()
    out.attrs = {}
    for column in out.columns:
        if out[column].dtype == bool:
            out[column] = out[column].map({True: "true", False: "false"})
    return out.to_csv(index=False, lineterminator="\n")


def cancel(engine: Engine, job_id: str) -> str:
    """Cancel a queued job or ask a running one to stop; the job's new status."""
    with session_factory(engine)() as session:
        job = jobs.request_cancel(session, job_id)
        session.commit()
        return job.status


def job_rows(engine: Engine) -> list[dict[str, Any]]:
    """Every user's jobs, newest first, as plain rows (stale running jobs marked first)."""
    jobs.mark_interrupted(engine, stale_after=STALE)
    with session_factory(engine)() as session:
        return [{"id": j.id, "status": j.status, "label": STATUS_LABELS[j.status],
                 "by": j.created_by, "created": j.created_at, "finished": j.finished_at,
                 "description": j.description, "step": j.step, "total": max(j.total, 1),
                 "message": j.message, "version": j.result_version, "error": j.error,
                 "cancel_requested": j.cancel_requested, "log": j.log,
                 "result": j.result}
                for j in jobs.list_jobs(session)]


def any_active(rows: list[dict[str, Any]]) -> bool:
    """Whether a job is queued or running (the panel polls only then)."""
    return any(r["status"] in ("queued", "running") for r in rows)
