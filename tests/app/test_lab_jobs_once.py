"""Issue 23 defect 1 for the model lab: "Train in the background" and "Update in the
background" queue one job per click, whatever the clicks; a repeat answers with the first
job's id (a duplicate job would register a duplicate candidate version)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from dashboard.services.lab import jobs as lab_jobs
from dashboard.services.lab import updating
from dashboard.services.workspace import Workspace
from records.db import session_factory
from records.tables.lifecycle import TrainingJob


def _jobs(workspace: Workspace) -> int:
    with session_factory(workspace.engine)() as session:
        return int(session.scalar(select(func.count()).select_from(TrainingJob)) or 0)


def test_a_repeated_submission_queues_one_job(workspace: Workspace,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lab_jobs, "ensure_worker", lambda: True)  # queued, never run here
    before = _jobs(workspace)
    token = "c" * 32
    first = updating.submit_update(workspace.engine, "ds", "v-none", "auto", ["response"], 10,
                                   token=token)
    again = updating.submit_update(workspace.engine, "ds", "v-none", "auto", ["response"], 10,
                                   token=token)
    assert again == first and _jobs(workspace) == before + 1
    other = updating.submit_update(workspace.engine, "ds", "v-none", "auto", ["response"], 10,
                                   token="d" * 32)  # a new click on a new form
    assert other != first and _jobs(workspace) == before + 2
    for job_id in (first, other):
        lab_jobs.cancel(workspace.engine, job_id)
