"""Model lab figures: ROC and precision-recall curves, calibration, decision curve.

Pure plotly builders (no Streamlit), so tests can inspect the traces.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.charts.style import DOWN, NEUTRAL, PATIENT_COLOURS, UP, layout


def roc_pr(curves: Mapping[str, pd.DataFrame], title: str = "") -> go.Figure:
    """ROC and precision-recall curves side by side (one trace per version/label)."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("ROC", "Precision-recall"))
    for i, (name, frame) in enumerate(curves.items()):
        colour = PATIENT_COLOURS[i % len(PATIENT_COLOURS)]
        roc, pr = frame.attrs["roc"], frame.attrs["pr"]
        fig.add_trace(go.Scatter(x=roc["fpr"], y=roc["tpr"], mode="lines", name=f"{name} ROC",
                                 line={"color": colour}), row=1, col=1)
        fig.add_trace(go.Scatter(x=pr["recall"], y=pr["precision"], mode="lines",
                                 name=f"{name} PR", line={"color": colour}), row=1, col=2)
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="chance",
                             line={"dash": "dot", "color": NEUTRAL}), row=1, col=1)
    fig.update_xaxes(title="false-positive rate", row=1, col=1)
    fig.update_yaxes(title="true-positive rate", row=1, col=1)
    fig.update_xaxes(title="recall", row=1, col=2)
    fig.update_yaxes(title="precision", row=1, col=2)
    return layout(fig, title, height=400)


def calibration(curves: Mapping[str, Sequence[dict]], title: str = "") -> go.Figure:
    """Observed vs predicted per probability bin, one trace per version (marker size ~ n)."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[0, 100], y=[0, 100], mode="lines", name="perfect",
                             line={"dash": "dot", "color": NEUTRAL}))
    for i, (name, rows) in enumerate(curves.items()):
        frame = pd.DataFrame(list(rows))
        if frame.empty:
            continue
        size = 6 + 14 * frame["n"] / max(float(frame["n"].max()), 1.0)
        fig.add_trace(go.Scatter(
            x=frame["mean_predicted"] * 100, y=frame["observed"] * 100, mode="lines+markers",
            name=name, marker={"size": size, "color": PATIENT_COLOURS[i % 4]},
            text=[f"n={n}" for n in frame["n"]]))
    fig.update_xaxes(title="mean predicted (%)", range=[0, 100])
    fig.update_yaxes(title="observed (%)", range=[0, 100])
    return layout(fig, title)


def decision_curve(rows: Sequence[dict], title: str = "") -> go.Figure:
    """Net benefit of the model against treating everyone and no one."""
    frame = pd.DataFrame(list(rows))
    fig = go.Figure()
    for column, name, style in (("model", "model", {"color": DOWN, "width": 3}),
                                ("treat_all", "treat all", {"color": UP, "dash": "dash"}),
                                ("treat_none", "treat none", {"color": NEUTRAL})):
        fig.add_trace(go.Scatter(x=frame["threshold"] * 100, y=frame[column], mode="lines",
                                 name=name, line=style))
    low = float(frame["model"].min()) if len(frame) else 0.0
    fig.update_yaxes(title="net benefit", range=[min(low, 0.0) - 0.02,
                                                 float(frame[["model", "treat_all"]].max().max())
                                                 + 0.02 if len(frame) else 1.0])
    fig.update_xaxes(title="threshold probability (%)")
    return layout(fig, title)
