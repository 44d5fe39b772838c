"""Patient-reported scores over time (pure plotly): PHQ-9 and GAD-7 answered by link."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboard.charts.style import DOWN, UP, layout

COLOURS = {"PHQ-9": DOWN, "GAD-7": UP}
MAX = {"PHQ-9": 27, "GAD-7": 21}


def reported_scores_chart(frame: pd.DataFrame,
                          title: str = "Patient-reported scores (answered by link)") -> go.Figure:
    """``frame``: answered (clinic time), questionnaire, total — one line per questionnaire."""
    fig = go.Figure()
    for name, rows in frame.groupby("questionnaire", sort=True):
        fig.add_trace(go.Scatter(x=rows["answered"], y=rows["total"], mode="lines+markers",
                                 name=f"{name} (patient-reported)",
                                 line={"color": COLOURS.get(str(name), "#555555")},
                                 marker={"symbol": "diamond-open", "size": 10}))
    fig.update_xaxes(title="answered (clinic time)")
    fig.update_yaxes(title="points", range=[0, 27])
    return layout(fig, title, height=320)
