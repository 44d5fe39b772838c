"""Issue 28: the "Source attributes" panel beside every prediction (clinician on candidate
review and compare, trainee on what-if) and the model lab's governance card (data
scientist): the 31 HTI-1 attributes with values or reasons, TRIPOD+AI status, exports."""

from __future__ import annotations

from collections.abc import Callable

from apptest_helpers import as_read
from streamlit.testing.v1 import AppTest

from dashboard.widgets.patients.source_attributes import CLOSED_NOTE, PANEL_KEY, TITLE
from training.governance.hti1 import ATTRIBUTES


def _panel_text(at: AppTest) -> str:
    """The panel's text once the reader opens it (issue 31: it is filled only then)."""
    panels = [e for e in at.expander if e.label == TITLE]
    assert len(panels) == 1, [e.label for e in at.expander]
    assert [c.value for c in panels[0].caption] == [CLOSED_NOTE]  # closed: nothing read
    assert not panels[0].markdown
    at.session_state[PANEL_KEY] = True  # the click that opens it
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    panels = [e for e in at.expander if e.label == TITLE]
    return "\n".join(as_read(m.value) for m in panels[0].markdown) + "\n".join(
        str(c.value) for c in panels[0].caption)


def _has_all_attributes(text: str) -> None:
    for number, (_, title) in enumerate(ATTRIBUTES, start=1):
        assert f"{number}. {title}" in text, title
    assert "not available" in text  # e.g. external validation: said, not invented
    assert "SYNTHETIC data" in text


def test_candidate_review_has_the_panel_beside_the_predictions(open_page: Callable) -> None:
    at = open_page("candidate_review")
    at.text_input(key="cr_search").set_value("KAP-00001").run()
    text = _panel_text(at)
    _has_all_attributes(text)
    assert "Response, sex=female" in text  # subgroup results with their intervals
    assert "not yet measured" in text  # local validity needs ended series with predictions


def test_compare_and_what_if_have_the_panel(open_page: Callable) -> None:
    _has_all_attributes(_panel_text(open_page("compare")))
    _has_all_attributes(_panel_text(open_page("what_if", role="trainee")))


def test_model_lab_shows_the_governance_card_and_exports(open_page: Callable) -> None:
    at = open_page("model_lab", role="data_scientist")
    tab = next(t for t in at.tabs if t.label == "Governance card")
    markdown = "\n".join(as_read(m.value) for m in tab.markdown)
    assert "**TRIPOD+AI**" in markdown and "reported" in markdown
    tripod = tab.dataframe[0].value
    assert len(tripod) >= 27 and set(tripod["status"]) <= {
        "reported", "not applicable", "not reported"}
    labels = [e.label for e in tab.expander]
    assert {"Subgroups (held-out)", "Local validity and fairness",
            "HTI-1 source attributes (all 31)"} <= set(labels)
    downloads = [d.proto.label for d in tab.get("download_button")]
    assert downloads == ["HTI-1 source attributes (JSON)",
                         "CHAI applied model card (signed XML)",
                         "TRIPOD+AI report (Markdown)", "Governance card (PDF)"]
