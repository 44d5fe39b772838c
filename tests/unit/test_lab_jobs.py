"""The model lab's job runner trains in the background and reports progress or the error."""

from __future__ import annotations

import pandas as pd

from training.generate import generate_cohort
from training.lab_jobs import JobRunner


def test_background_training_completes_with_progress() -> None:
    cohort = generate_cohort(300, seed=5)
    runner = JobRunner()
    try:
        job_id = runner.submit(cohort.patients, cohort.sessions, params={"learning_rate": 0.2},
                               n_bootstrap=10, description="tiny")
        assert runner.get(job_id) is not None
        job = runner.wait(job_id, timeout=120)
        assert job.state == "done", job.error
        assert job.finished_ok and job.fraction == 1.0
        assert job.step == job.total > 1
        assert "evaluation" in job.result.card
    finally:
        runner.shutdown()


def test_failed_job_reports_error() -> None:
    runner = JobRunner()
    try:
        job = runner.wait(runner.submit(pd.DataFrame({"x": [1]}), pd.DataFrame()), timeout=30)
        assert job.state == "failed" and "no outcome columns" in (job.error or "")
        assert runner.jobs()[0] is job
    finally:
        runner.shutdown()
