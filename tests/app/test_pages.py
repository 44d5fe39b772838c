"""Every page renders through the router, without exception, under the banner."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.services.workspace import Workspace
from dashboard.widgets.components import BANNER_TEXT

PAGES = ("home", "candidate_review", "compare", "progress", "data_entry", "cohort")
TITLES = {
    "home": "KAP-CDS clinician workspace", "candidate_review": "Candidate review",
    "compare": "Compare patients", "progress": "Treatment progress",
    "data_entry": "Data entry", "cohort": "Cohort overview",
}


@pytest.mark.parametrize("name", PAGES)
def test_page_renders_with_banner(open_page: Callable[[str], AppTest], workspace: Workspace,
                                  name: str) -> None:
    at = open_page(name)
    assert not at.exception
    assert at.title[0].value == TITLES[name]
    banner = at.warning[0].value
    assert banner.startswith(BANNER_TEXT)
    assert workspace.version in banner


def test_home_shows_model_card(open_page: Callable[[str], AppTest],
                               workspace: Workspace) -> None:
    at = open_page("home")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Patients in the store"].replace(",", "").isdigit()
    assert workspace.version in at.caption[0].value
    card_table = at.dataframe[0].value
    assert "ROC AUC (95 % CI)" in card_table.columns
    assert len(card_table) == len(workspace.model_set.outcomes)


@pytest.mark.parametrize(("role", "title"), [
    ("clinician", "KAP-CDS clinician workspace"), ("data_scientist", "KAP-CDS model workspace"),
    ("trainee", "KAP-CDS training workspace"), ("admin", "KAP-CDS administration")])
def test_home_title_fits_the_role(open_page: Callable[..., AppTest], role: str,
                                  title: str) -> None:
    """Issue 12 point 7: Home is not the 'clinician workspace' for every role."""
    at = open_page("home", role)
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == title


def test_home_opens_while_the_cohort_is_still_being_computed(
        open_page: Callable[[str], AppTest], monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 18: a fresh server computes the store's predictions in the background; Home
    shows the store's counts meanwhile and says the screen counts are being computed."""
    from dashboard.widgets import resources

    release = threading.Event()
    built = resources.cohort_table

    def slow_build(ws: Workspace):
        release.wait(timeout=120)
        return built(ws)

    monkeypatch.setattr(resources, "cohort_table", slow_build)
    resources._prepare_cohort.clear()  # as on a fresh server
    try:
        at = open_page("home")
        metrics = {m.label: m.value for m in at.metric}
        assert metrics["Eligible (screen)"] == "being computed"
        assert metrics["Patients in the store"].replace(",", "").isdigit()
        assert any("being computed for this model version" in i.value for i in at.info)
    finally:
        release.set()
    resources._prepare_cohort.clear()
    at = open_page("home")
    assert {m.label: m.value for m in at.metric}["Eligible (screen)"].replace(",", "").isdigit()
