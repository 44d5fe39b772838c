"""`kapcds jobs list|show|cancel` and `kapcds worker` (training jobs in the store)."""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta

from kapcds.commands_interop import terminal_text as escape_terminal

STALE = timedelta(minutes=2)  # no heartbeat for this long: the worker is gone


def store_engine():
    from records.db import make_engine
    from records.jobs import mark_interrupted
    from records.migrate import upgrade

    engine = make_engine()
    upgrade(engine)
    mark_interrupted(engine, stale_after=STALE)
    return engine


def _jobs(args: argparse.Namespace) -> int:
    from records import jobs
    from records.db import session_factory

    engine = store_engine()
    try:
        with session_factory(engine)() as session:
            if args.action == "list":
                for job in jobs.list_jobs(session):
                    sys.stdout.write(escape_terminal(
                        f"{job.id}  {job.status:11} {job.created_by:14} "
                        f"{job.created_at:%Y-%m-%d %H:%M}  {job.step}/{job.total}  "
                        f"{job.result_version or '-'}  {job.description}") + "\n")
                return 0
            if not args.job:
                raise ValueError(f"`kapcds jobs {args.action}` needs a job id")
            if args.action == "cancel":
                job = jobs.request_cancel(session, args.job)
                session.commit()
                _audit_cancel(job.id)
                sys.stdout.write(f"{job.id}: {job.status}"
                                 f"{' (cancel requested)' if job.cancel_requested else ''}\n")
                return 0
            job = jobs.get_job(session, args.job)
            fields = {"id": job.id, "status": job.status, "created by": job.created_by,
                      "created": job.created_at, "started": job.started_at,
                      "finished": job.finished_at, "data": job.data,
                      "parameters": job.parameters, "progress": f"{job.step}/{job.total}",
                      "message": job.message, "result version": job.result_version,
                      "error": job.error}
            for key, value in fields.items():
                sys.stdout.write(escape_terminal(f"{key}: {value}") + "\n")
            sys.stdout.write("log:\n")
            for line in job.log.splitlines():
                sys.stdout.write("  " + escape_terminal(line) + "\n")
            return 0
    finally:
        engine.dispose()


def _audit_cancel(job_id: str) -> None:
    from kapcds.common import record_cli

    record_cli("job_cancel", "model", detail=f"job {job_id}")


def _worker(args: argparse.Namespace) -> int:
    from kapcds.worker import run_worker

    return run_worker(idle_exit=args.idle_exit)


def register_all(sub: argparse._SubParsersAction) -> None:
    """Add `jobs` and `worker`."""
    p = sub.add_parser("jobs", help="training jobs: list, show one, cancel",
                       description="Training jobs of every user, as the model lab lists them.")
    p.add_argument("action", choices=("list", "show", "cancel"))
    p.add_argument("job", nargs="?", help="job id (show, cancel)")
    p.set_defaults(handler=_jobs)
    p = sub.add_parser("worker", help="run queued training jobs (the dashboard starts one)",
                       description="Run queued training jobs from the store until idle; a "
                       "second worker on the same data folder exits at once.")
    p.add_argument("--idle-exit", type=float, default=120.0,
                   help="exit after this many seconds without a job (default %(default)s)")
    p.set_defaults(handler=_worker)
