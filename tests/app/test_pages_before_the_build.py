"""Issue 31: Treatment progress and Cohort overview do not wait for the background build of
the store's predictions. Progress pages the store for its picker and predicts the chosen
patient now (the numbers the finished table holds); Cohort overview shows the alerts at the
latest session from the store at once and says the predictions are being computed."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from apptest_helpers import hold_cohort_build, texts
from streamlit.testing.v1 import AppTest

from dashboard.services.patients.listing import cohort_table
from dashboard.services.workspace import Workspace
from dashboard.widgets.components import plain


@pytest.fixture
def building(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A fresh server whose background build has not finished (held until the test ends)."""
    from dashboard.widgets import resources

    release = hold_cohort_build(monkeypatch)
    try:
        yield
        assert resources.cohort_pending(workspace, wait_s=0)  # the page did not wait
    finally:
        release.set()
    resources._prepare_cohort.clear()


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_progress_opens_a_patient_before_the_store_is_predicted(
        open_page: Callable[[str], AppTest], workspace: Workspace,
        building: None) -> None:
    full = cohort_table(workspace)
    far = full.index[-1]  # off the first page: found by the search
    at = open_page("progress")
    picker = at.selectbox(key="pr_patient")
    assert [o.split(" — ")[0] for o in picker.options] == list(full.index[:100])
    assert "100 are listed: search to find another" in texts(at.caption)
    at.text_input(key="pr_search").set_value(far).run()
    at.selectbox(key="pr_patient").set_value(far).run()
    assert not at.exception
    assert at.header[0].value == f"{plain(full.loc[far, 'name'])} · {plain(far)}"
    early = _metrics(at)
    assert early["Baseline PHQ-9"] == f"{full.loc[far, 'phq9_baseline']:g}"
    assert "being computed" not in texts(at.info)


def test_progress_is_the_same_before_and_after_the_build(
        open_page: Callable[[str], AppTest], workspace: Workspace,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from dashboard.widgets import resources

    pid = cohort_table(workspace).index[5]
    seen = []
    for wait_below in (10**9, 0):  # built (waits), then as a large store while building
        monkeypatch.setattr(resources, "WAIT_BELOW", wait_below)
        if wait_below == 0:
            monkeypatch.setattr(resources, "cohort_pending", lambda ws, wait_s=1.0: True)
        at = open_page("progress")
        at.selectbox(key="pr_patient").set_value(pid).run()
        assert not at.exception
        seen.append((_metrics(at), [h.value for h in at.header],
                     [m.value for m in at.markdown if m.value.startswith("**Status")]))
    assert seen[0] == seen[1]


def test_cohort_overview_shows_alerts_while_predictions_are_computed(
        open_page: Callable[[str], AppTest], building: None) -> None:
    at = open_page("cohort")
    assert "being computed" in texts(at.info)
    assert any(h.value == "Alerts at the latest session" for h in at.header)
    assert "checked;" in texts(at.caption)
    assert not at.get("download_button")  # no export of predictions not yet computed
