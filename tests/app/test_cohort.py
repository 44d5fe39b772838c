"""Cohort overview: distributions, global importance per outcome, alerts across patients."""

from __future__ import annotations

from collections.abc import Callable

from apptest_helpers import plotly_figures
from streamlit.testing.v1 import AppTest


def _importance(at: AppTest) -> list[str]:
    figure = next(f for f in plotly_figures(at)
                  if f["layout"]["title"]["text"].startswith("Global importance"))
    return list(figure["data"][0]["y"])


def test_cohort_overview(open_page: Callable[[str], AppTest]) -> None:
    at = open_page("cohort")
    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics["Patients"].replace(",", "")) >= 2000
    kinds = {f["data"][0]["type"] for f in plotly_figures(at)}
    assert {"histogram", "bar", "scattergl"} <= kinds
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
