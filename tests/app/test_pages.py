"""Every page renders through the router, without exception, under the banner."""

from __future__ import annotations

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
