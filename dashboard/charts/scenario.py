"""What-if figures: one input's effect curve (ICE over the cohort's band) and how each
input's contribution changed in a scenario. Pure plotly builders (no Streamlit).
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboard.charts.style import BAND, DOWN, NEUTRAL, UP, layout


def dependence_chart(curve: pd.DataFrame, current: object, x_title: str,
                     title: str = "") -> go.Figure:
    """This patient's curve (ICE) over the cohort's mean with its 10-90 % band."""
    x = [str(v) for v in curve["value"]] if curve["value"].dtype == object else curve["value"]
    fig = go.Figure()
    if "cohort_mean" in curve:
        # the band's two edges: one legend entry, two named series in the text alternative
        fig.add_trace(go.Scatter(x=x, y=curve["cohort_p90"] * 100, mode="lines",
                                 line={"width": 0}, showlegend=False, hoverinfo="skip",
                                 meta={"series": "cohort 90th centile"}))
        fig.add_trace(go.Scatter(x=x, y=curve["cohort_p10"] * 100, mode="lines",
                                 line={"width": 0}, fill="tonexty", fillcolor=BAND,
                                 name="cohort 10–90 %", meta={"series": "cohort 10th centile"}))
        fig.add_trace(go.Scatter(x=x, y=curve["cohort_mean"] * 100, mode="lines+markers",
                                 line={"color": NEUTRAL, "dash": "dash"},
                                 name="cohort average (partial dependence)"))
    fig.add_trace(go.Scatter(x=x, y=curve["patient"] * 100, mode="lines+markers",
                             line={"color": UP, "width": 3}, name="this patient (ICE)"))
    if current is not None:
        if curve["value"].dtype == object:
            fig.add_vline(x=list(x).index(str(current)) if str(current) in list(x) else 0,
                          line={"dash": "dot", "color": "#333333"})
        else:
            fig.add_vline(x=float(current), line={"dash": "dot", "color": "#333333"},
                          annotation_text="current")
    fig.update_xaxes(title=x_title)
    fig.update_yaxes(title="predicted probability (%)")
    return layout(fig, title)


def contribution_change(table: pd.DataFrame, top: int = 10, title: str = "") -> go.Figure:
    """Baseline and scenario effect of each input side by side (percentage points)."""
    shown = table.head(top)
    fig = go.Figure()
    fig.add_trace(go.Bar(x=shown["baseline effect"], y=shown["input"], orientation="h",
                         name="baseline", marker_color=NEUTRAL))
    fig.add_trace(go.Bar(x=shown["scenario effect"], y=shown["input"], orientation="h",
                         name="scenario", marker_color=DOWN))
    fig.update_layout(barmode="group")
    fig.update_xaxes(title="effect on the probability (percentage points)", zeroline=True)
    fig.update_yaxes(autorange="reversed")
    return layout(fig, title, height=140 + 40 * len(shown))
