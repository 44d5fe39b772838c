"""Cohort overview: distributions, global importance per outcome, alerts across patients."""

from __future__ import annotations

from collections.abc import Callable

from apptest_helpers import plotly_figures, values
from streamlit.testing.v1 import AppTest

from dashboard.services.patients.gaps import predictable
from dashboard.services.patients.listing import cohort_table
from dashboard.services.workspace import Workspace


def _importance(at: AppTest) -> list[str]:
    figure = next(f for f in plotly_figures(at)
                  if f["layout"]["title"]["text"].startswith("Inputs that move the prediction"))
    return list(figure["data"][0]["y"])


def test_cohort_overview(open_page: Callable[[str], AppTest], workspace: Workspace) -> None:
    at = open_page("cohort")
    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics["Patients"].replace(",", "")) >= 2000
    kinds = {f["data"][0]["type"] for f in plotly_figures(at)}
    assert {"bar", "scattergl"} <= kinds
    # the histograms are counted on the server: every predictable patient once per outcome
    histograms = next(f for f in plotly_figures(at)
                      if f["layout"]["title"]["text"] == "Predicted-risk distributions")
    predicted = len(predictable(cohort_table(workspace)))
    assert [sum(values(trace["y"])) for trace in histograms["data"]] == [predicted] * len(
        histograms["data"])
    response = _importance(at)
    at.selectbox(key="co_outcome").set_value("hypertensive_reaction").run()
    assert _importance(at) != response


def test_alerts_scope(open_page: Callable[[str], AppTest]) -> None:
    at = open_page("cohort")
    at.radio(key="co_scope").set_value("everyone with sessions").run()
    tables = [frame.value for frame in at.dataframe]
    alerts = next(t for t in tables if {"kind", "severity", "message"} <= set(t.columns))
    assert {"patient_id", "session_number", "kind", "severity", "message"} <= set(alerts)
    assert len(alerts) > 0


def test_cohort_speaks_the_clinicians_language(open_page: Callable[[str], AppTest]) -> None:
    """Issue 12 point 7: technical terms only behind 'How this is computed'."""
    at = open_page("cohort")
    visible = " ".join([c.value for c in at.caption] + [m.value for m in at.markdown
                                                         if m not in _expander_markdown(at)])
    titles = " ".join(f["layout"]["title"]["text"] + str(f["layout"].get("xaxis", {}))
                      for f in plotly_figures(at))
    for jargon in ("TreeSHAP", "SHAP", "log-odds"):
        assert jargon not in visible and jargon not in titles, jargon
    assert "TreeSHAP" in " ".join(m.value for m in _expander_markdown(at))


def _expander_markdown(at: AppTest) -> list:
    return [m for e in at.expander if e.label == "How this is computed" for m in e.markdown]
