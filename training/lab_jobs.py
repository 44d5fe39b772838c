"""A small background job runner for the model lab: train without blocking the page.

One worker thread (the machine is shared, and LightGBM runs single-threaded here) runs
``train_model_set``; its ``progress`` callback updates the job so a polling page can show a
progress bar. Jobs hold plain data only and are looked up by id, so a Streamlit session
keeps just the id and the runner lives in ``st.cache_resource``.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from training.train import TrainResult, train_model_set

log = logging.getLogger(__name__)

State = Literal["queued", "running", "done", "failed"]


@dataclass
class Job:
    """One training run: its progress, and the result or the error when finished."""

    id: str
    description: str
    state: State = "queued"
    step: int = 0
    total: int = 1
    message: str = "waiting to start"
    started: float = field(default_factory=time.time)
    finished: float | None = None
    result: TrainResult | None = None
    error: str | None = None

    @property
    def fraction(self) -> float:
        """Share of the steps done, 0-1 (1 when finished)."""
        if self.state in ("done", "failed"):
            return 1.0
        return min(1.0, self.step / max(self.total, 1))

    @property
    def finished_ok(self) -> bool:
        """True once the job completed with a result."""
        return self.state == "done" and self.result is not None


class JobRunner:
    """Runs training jobs on a background thread and tracks them by id."""

    def __init__(self, max_workers: int = 1) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="lab-train")
        self._jobs: dict[str, Job] = {}
        self._futures: dict[str, Future] = {}
        self._lock = threading.Lock()

    def submit(self, patients: pd.DataFrame, sessions: pd.DataFrame,
               params: dict[str, Any] | None = None, seed: int = 0, n_bootstrap: int = 200,
               data_description: dict[str, Any] | None = None,
               description: str = "training") -> str:
        """Queue a ``train_model_set`` run; returns the job id immediately."""
        job = Job(id=uuid.uuid4().hex[:12], description=description)
        with self._lock:
            self._jobs[job.id] = job

        def progress(step: int, total: int, message: str) -> None:
            job.step, job.total, job.message = step, total, message

        def run() -> None:
            job.state, job.message = "running", "splitting patients"
            try:
                job.result = train_model_set(
                    patients, sessions, params=params, seed=seed, progress=progress,
                    n_bootstrap=n_bootstrap, data_description=data_description)
                job.state, job.message = "done", "finished"
            except Exception as error:  # noqa: BLE001 - reported to the page, not raised
                log.exception("training job %s failed", job.id)
                job.state, job.error = "failed", f"{type(error).__name__}: {error}"
                job.message = "failed"
            finally:
                job.finished = time.time()

        self._futures[job.id] = self._pool.submit(run)
        log.info("queued training job %s (%s)", job.id, description)
        return job.id

    def get(self, job_id: str | None) -> Job | None:
        """The job with this id, or None."""
        if job_id is None:
            return None
        with self._lock:
            return self._jobs.get(job_id)

    def wait(self, job_id: str, timeout: float | None = None) -> Job:
        """Block until the job ends (tests and scripts; pages poll ``get`` instead)."""
        self._futures[job_id].result(timeout=timeout)
        job = self.get(job_id)
        assert job is not None
        return job

    def jobs(self) -> list[Job]:
        """Every job, newest first."""
        with self._lock:
            return sorted(self._jobs.values(), key=lambda j: j.started, reverse=True)

    def shutdown(self) -> None:
        """Stop accepting jobs and wait for the running one."""
        self._pool.shutdown(wait=True)


_SHARED: JobRunner | None = None
_SHARED_LOCK = threading.Lock()


def shared_runner() -> JobRunner:
    """The process-wide runner (one training at a time on a shared machine)."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = JobRunner()
        return _SHARED
