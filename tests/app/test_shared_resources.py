"""Issue 31 item 3: what every session needs and may share is held once per server process
(``st.cache_resource``), never once per browser session: the model set with its compiled
kernels and explainers, the cohort table and the cohort's explanations. Twenty sessions
then cost what their own widgets and results cost (the load test measures it: RSS with one
session and with all of them, benchmarks/README.md). The shared tables are read-only;
what one clinician enters or is shown stays in that clinician's session."""

from __future__ import annotations

from pathlib import Path

from dashboard.widgets import resources


def test_two_sessions_get_the_same_model_and_cohort_objects(kapcds_home: Path) -> None:
    first, second = resources.workspace(), resources.workspace()  # as two sessions' runs do
    assert first is not second  # the workspace itself is per run (cheap: references only)
    assert first.model_set is second.model_set  # unpickled and warmed once
    assert first.engine is second.engine  # one connection pool
    assert resources.cohort(first) is resources.cohort(second)  # predicted once
    assert resources.cohort_explanations(first) is resources.cohort_explanations(second)
    alerts = resources.alerts_overview(first, True)
    assert resources.alerts_overview(second, True) is alerts
