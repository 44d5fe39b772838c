"""Compare patients: 2–4 patients aligned feature by feature."""

from __future__ import annotations

from collections.abc import Callable

from apptest_helpers import plotly_figures, texts
from streamlit.testing.v1 import AppTest


def _bars(at: AppTest) -> list[str]:
    figure = next(f for f in plotly_figures(at)
                  if f["layout"]["title"]["text"] == "Predicted outcomes")
    return [t["name"] for t in figure["data"]]


def test_compare_two_then_three(open_page: Callable[[str], AppTest]) -> None:
    at = open_page("compare")
    chosen = at.multiselect(key="cmp_patients").value
    assert len(chosen) == 2 and _bars(at) == chosen
    three = ["KAP-00010", "KAP-00011", "KAP-00012"]
    at.multiselect(key="cmp_patients").set_value(three).run()
    assert _bars(at) == three
    inputs = at.dataframe[-1].value
    assert list(inputs.columns) == three
    at.toggle(key="cmp_only_diff").set_value(False).run()
    assert len(at.dataframe[-1].value) > len(inputs)


def test_outcome_changes_the_contributions(open_page: Callable[[str], AppTest]) -> None:
    at = open_page("compare")
    at.selectbox(key="cmp_outcome").set_value("dropout").run()
    titles = [f["layout"]["title"]["text"] for f in plotly_figures(at)]
    assert "What drives dropout, feature by feature" in titles


def test_one_patient_is_not_enough(open_page: Callable[[str], AppTest]) -> None:
    at = open_page("compare")
    at.multiselect(key="cmp_patients").set_value(["KAP-00010"]).run()
    assert "Choose at least two patients" in texts(at.info)
