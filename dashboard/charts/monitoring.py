"""Monitoring figures: observed vs predicted by decile with Wilson 95 % intervals."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboard.charts.style import NEUTRAL, PATIENT_COLOURS, layout


def decile_calibration(frame: pd.DataFrame, title: str = "") -> go.Figure:
    """One point per decile: mean predicted (x) vs observed (y), error bars = Wilson CI."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[0, 100], y=[0, 100], mode="lines", name="perfect",
                             line={"dash": "dot", "color": NEUTRAL}))
    if not frame.empty:
        observed = frame["observed"] * 100
        fig.add_trace(go.Scatter(
            x=frame["mean_predicted"] * 100, y=observed, mode="markers+lines",
            name="observed (95 % CI)", marker={"size": 9, "color": PATIENT_COLOURS[0]},
            error_y={"type": "data", "symmetric": False,
                     "array": frame["observed_hi"] * 100 - observed,
                     "arrayminus": observed - frame["observed_lo"] * 100},
            text=[f"decile {d}, n={n}" for d, n in zip(frame["decile"], frame["n"],
                                                       strict=True)]))
    fig.update_xaxes(title="mean predicted (%)", range=[0, 100])
    fig.update_yaxes(title="observed (%)", range=[0, 100])
    return layout(fig, title)
