"""Training jobs in the store: submitted by the model lab or the CLI, run by the worker
process (``kapcds worker``), listed for every user, cancellable, and marked interrupted when
the worker that ran them stopped (a restart) instead of silently lost.

States: queued -> running -> done | failed | cancelled; running -> interrupted (the worker
died). Cancelling a queued job ends it at once; a running one stops at its next step.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from records.db import session_factory
from records.errors import RecordNotFoundError
from records.tables.clinical import utcnow
from records.tables.lifecycle import TrainingJob

FINISHED = ("done", "failed", "cancelled", "interrupted")
LOG_LIMIT = 20_000  # characters of log kept per job (the newest lines)


def submit_job(session: Session, created_by: str, description: str, data: dict[str, Any],
               parameters: dict[str, Any], job_id: str | None = None) -> TrainingJob:
    """Queue a job (committed by the caller)."""
    job = TrainingJob(id=job_id or uuid.uuid4().hex[:12], created_by=created_by,
                      description=description[:200], data=data, parameters=parameters,
                      status="queued", step=0, total=1, message="waiting for the worker",
                      log="", cancel_requested=False)
    session.add(job)
    return job


def get_job(session: Session, job_id: str) -> TrainingJob:
    """The job with this id (``RecordNotFoundError`` names an unknown one)."""
    job = session.get(TrainingJob, job_id)
    if job is None:
        raise RecordNotFoundError(f"no training job {job_id!r}")
    return job


def list_jobs(session: Session, limit: int = 100) -> list[TrainingJob]:
    """Jobs of every user, newest first."""
    stmt = select(TrainingJob).order_by(TrainingJob.created_at.desc()).limit(limit)
    return list(session.scalars(stmt))


def request_cancel(session: Session, job_id: str) -> TrainingJob:
    """Cancel a queued job now, ask a running one to stop; finished jobs stay as they are."""
    job = get_job(session, job_id)
    if job.status == "queued":
        job.status, job.finished_at, job.message = "cancelled", utcnow(), "cancelled"
    elif job.status == "running":
        job.cancel_requested, job.message = True, "cancel requested"
    return job


def claim_next(engine: Engine, worker_pid: int) -> TrainingJob | None:
    """Move the oldest queued job to running for this worker (None when none is queued)."""
    with session_factory(engine)() as session:
        candidate = session.scalar(select(TrainingJob.id).where(
            TrainingJob.status == "queued").order_by(TrainingJob.created_at).limit(1))
        if candidate is None:
            return None
        now = utcnow()
        claimed = session.execute(update(TrainingJob).where(
            TrainingJob.id == candidate, TrainingJob.status == "queued").values(
            status="running", started_at=now, heartbeat_at=now, worker_pid=worker_pid,
            message="starting")).rowcount
        session.commit()
        return get_job(session, candidate) if claimed else None


def progress(engine: Engine, job_id: str, step: int, total: int, message: str) -> bool:
    """Record a step (and a log line); True when a cancel has been requested."""
    with session_factory(engine)() as session:
        job = get_job(session, job_id)
        job.step, job.total, job.message = int(step), int(total), message[:200]
        job.heartbeat_at = utcnow()
        line = f"{job.heartbeat_at:%H:%M:%S} [{step}/{total}] {message}\n"
        job.log = (job.log + line)[-LOG_LIMIT:]
        session.commit()
        return bool(job.cancel_requested)


def heartbeat(engine: Engine, job_id: str) -> None:
    """The worker is alive and on this job."""
    with session_factory(engine)() as session:
        session.execute(update(TrainingJob).where(TrainingJob.id == job_id,
                                                  TrainingJob.status == "running")
                        .values(heartbeat_at=utcnow()))
        session.commit()


def finish(engine: Engine, job_id: str, status: str, result_version: str | None = None,
           error: str | None = None, message: str | None = None,
           result: dict[str, Any] | None = None) -> None:
    """End a job with its status, registered version or error (and ``result``, plain data
    such as an update's per-outcome steps)."""
    with session_factory(engine)() as session:
        job = get_job(session, job_id)
        job.status, job.finished_at = status, utcnow()
        job.result_version, job.error, job.result = result_version, error, result
        job.message = (message or status)[:200]
        if job.status == "done":
            job.step = job.total
        session.commit()


def mark_interrupted(engine: Engine, stale_after: timedelta | None = None) -> list[str]:
    """Running jobs whose worker stopped: all of them (``stale_after`` None, the worker's own
    start-up) or those without a heartbeat for ``stale_after``. Returns their ids."""
    with session_factory(engine)() as session:
        stmt = select(TrainingJob).where(TrainingJob.status == "running")
        if stale_after is not None:
            stmt = stmt.where(TrainingJob.heartbeat_at < utcnow() - stale_after)
        jobs = list(session.scalars(stmt))
        for job in jobs:
            job.status, job.finished_at = "interrupted", utcnow()
            job.message = "interrupted: the worker running it stopped (restart)"
            job.log += f"{utcnow():%H:%M:%S} interrupted: the worker stopped\n"
        session.commit()
        return [job.id for job in jobs]
