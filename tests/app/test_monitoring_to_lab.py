"""Monitoring links each suggestion to the update that would answer it (issue 29): the
button opens the model lab with that version, method and outcome preselected, and nothing
runs until the data scientist presses the lab's own button."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from apptest_helpers import as_read, texts
from streamlit.testing.v1 import AppTest

from dashboard.services.lab import monitoring as monitoring_service
from dashboard.services.lab.monitoring import lab_updates
from dashboard.services.workspace import Workspace
from records import jobs
from records.db import session_factory
from training.lifecycle.monitor import VersionMonitor, monitor_version


def _miscalibrated(version: str) -> VersionMonitor:
    """Response under-predicted by 0.3 on 800 patients: recalibration or retraining."""
    rng = np.random.default_rng(5)
    p = rng.uniform(0.1, 0.5, 800)
    y = (rng.uniform(size=800) < np.clip(p + 0.3, 0, 1)).astype(int)
    return monitor_version(version, {}, pd.DataFrame({"response": y}),
                           pd.DataFrame({"response": p}), pd.DataFrame(), "test", n_boot=50)


def test_each_suggestion_gets_its_lab_update() -> None:
    result = _miscalibrated("v1")
    (link,) = lab_updates(result)
    assert link == {"version": "v1", "method": "auto", "outcomes": ["response"],
                    "train": False, "reason": f"Response: {result.outcomes[0].suggestion} "
                    "suggested"}
    assert len(result.actions) == 1 and "--method auto" in result.actions[0]


def test_the_suggestion_opens_the_lab_with_the_update_preselected(
        open_page: Callable[..., AppTest], workspace: Workspace,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(monitoring_service, "monitor_store",
                        lambda *_args, **_kw: _miscalibrated(workspace.version))
    at = open_page("monitoring", role="data_scientist")
    assert "The update that would answer it" in texts(at.markdown)
    with session_factory(workspace.engine)() as session:
        before = len(jobs.list_jobs(session))
    at.button(key="mon_lab_0").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Model lab" in texts(at.title)
    assert at.selectbox(key="ml_upd_version").value == workspace.version
    assert at.selectbox(key="ml_upd_method").value == "auto"
    assert at.multiselect(key="ml_upd_outcomes").value == ["response"]
    assert "From Monitoring: Response: " in as_read(texts(at.info))
    with session_factory(workspace.engine)() as session:
        assert len(jobs.list_jobs(session)) == before  # nothing queued by the link
