"""Every chart's text alternative is read from the figure itself (issue 30, WCAG 1.1.1)."""

from __future__ import annotations

import json
import re

import plotly.graph_objects as go
import pytest

from dashboard.charts.text_alternative import (
    MAX_TABLE_ROWS,
    figure_summary,
    figure_table,
    table_note,
)


def _figure() -> go.Figure:
    fig = go.Figure([go.Scatter(x=[1, 2, 3], y=[20, 14, 9], name="<b>Observed</b>"),
                     go.Scatter(x=[1, 2, 3], y=[21, 16, 12], name="Expected (median)")])
    fig.update_layout(title="PHQ-9 over the series", xaxis_title="Session",
                      yaxis_title="PHQ-9 total")
    return fig


def test_summary_names_each_series_with_its_range() -> None:
    text = figure_summary(_figure())
    assert text.startswith("PHQ-9 over the series:")
    assert "Observed (3 points, 9 to 20)" in text
    assert "Expected (median) (3 points, 12 to 21)" in text
    assert "<b>" not in text


def test_table_holds_every_drawn_point_with_axis_titles() -> None:
    table = figure_table(_figure())
    assert list(table.columns) == ["series", "Session", "PHQ-9 total"]
    assert len(table) == 6
    assert table["PHQ-9 total"].tolist() == [20, 14, 9, 21, 16, 12]


def test_an_empty_chart_says_so() -> None:
    assert figure_summary(go.Figure()) == "Chart: no data to show."


def test_heat_map_cells_become_rows() -> None:
    table = figure_table(go.Figure(go.Heatmap(z=[[1, 2], [3, 4]], name="grid")))
    assert sorted(table["value"].tolist()) == [1, 2, 3, 4]
    assert "grid (4 points, 1 to 4)" in figure_summary(go.Figure(go.Heatmap(z=[[1, 2], [3, 4]],
                                                                            name="grid")))


def test_a_long_table_says_where_it_stops() -> None:
    n = MAX_TABLE_ROWS + 10
    fig = go.Figure(go.Scatter(x=list(range(n)), y=list(range(n))))
    assert len(figure_table(fig)) == MAX_TABLE_ROWS
    assert table_note(fig) == f"The table shows the first {MAX_TABLE_ROWS:,} of {n:,} points."
    assert table_note(_figure()) is None


CHART_PAGES = [("candidate_review", "clinician"), ("compare", "clinician"),
               ("progress", "clinician"), ("cohort", "clinician"), ("what_if", "trainee"),
               ("monitoring", "data_scientist")]


@pytest.mark.parametrize(("name", "role"), CHART_PAGES)
def test_every_chart_on_a_page_has_its_summary_and_table(open_page, name: str,
                                                         role: str) -> None:
    at = open_page(name, role)
    assert not at.exception
    charts = at.get("plotly_chart")
    toggles = [e for e in at.toggle if e.label == "Data as a table"]
    assert len(toggles) == len(charts)
    for chart in charts:
        title = json.loads(chart.proto.spec)["layout"].get("title", {}).get("text")
        if title:
            plain = " ".join(re.sub(r"<[^>]+>", " ", title).split())
            assert any(c.value.replace("\\", "").startswith(plain[:20])
                       for c in at.caption), title
    unnamed = [c.value for c in at.caption if re.search(r"\bseries \d+ \(", c.value)]
    assert not unnamed, unnamed  # every series a summary lists has a name a reader knows


def test_the_table_toggle_shows_the_chart_data(open_page) -> None:
    at = open_page("cohort", "clinician")
    before = len(at.dataframe)
    toggle = next(e for e in at.toggle if e.label == "Data as a table")
    toggle.set_value(True).run()
    assert not at.exception
    assert len(at.dataframe) == before + 1


def test_words_and_numbers_in_one_column_become_text() -> None:
    fig = go.Figure([go.Scatter(x=[1, 2], y=[3, 4], name="CADSS"),
                     go.Bar(x=[1], y=["dizziness"], name="side effects")])
    table = figure_table(fig)
    assert table["y"].tolist() == ["3", "4", "dizziness"]
    import pyarrow as pa

    pa.Table.from_pandas(table)  # Streamlit's dataframe needs one type per column


def test_the_what_if_band_edges_are_named_series_not_series_n() -> None:
    """The dependence chart's cohort band is two traces under one legend entry: its table and
    summary name each edge (a clinician read "series 1 (76.6 to 82.1)" and the lower edge
    alone as "cohort 10–90 %"); no trace of an app chart is left as "series N"."""
    import pandas as pd

    from dashboard.charts.scenario import dependence_chart

    curve = pd.DataFrame({"value": [0.5, 1.0], "cohort_p10": [0.27, 0.30],
                          "cohort_p90": [0.80, 0.76], "cohort_mean": [0.55, 0.52],
                          "patient": [0.34, 0.31]})
    figure = dependence_chart(curve, 1.0, "Dose mg/kg", "P(response) across the range")
    series = figure_table(figure)["series"].unique().tolist()
    assert series == ["cohort 90th centile", "cohort 10th centile",
                      "cohort average (partial dependence)", "this patient (ICE)"]
    summary = figure_summary(figure)
    assert "cohort 90th centile (2 points, 76 to 80)" in summary
    assert "cohort 10th centile (2 points, 27 to 30)" in summary
    assert "series " not in summary
    assert [t.name for t in figure.data if t.showlegend is not False] == [
        "cohort 10–90 %", "cohort average (partial dependence)", "this patient (ICE)"]
