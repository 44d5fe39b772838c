"""Explanation figures: one patient's waterfall, contributions side by side, importance.

Pure plotly builders (no Streamlit), so tests can call and inspect them.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.charts.style import (
    DOWN,
    LOWERS,
    NEUTRAL,
    PATIENT_COLOURS,
    RAISES,
    UP,
    VALUE_SCALE,
    layout,
)

# What the waterfall's colours mean, in words on the chart: colour is never the only carrier
# (WCAG 1.4.1); the signed numbers on the bars say it as well.
WATERFALL_KEY = (f"Vermillion bar (+): {RAISES} · blue bar (−): {LOWERS} · grey: the "
                 "average patient and this patient")


def shap_waterfall(base: float, steps: pd.Series, labels: Mapping[str, str],
                   scale: str = "probability", top: int = 10, title: str = "") -> go.Figure:
    """Baseline → prediction as a waterfall of additive per-feature steps.

    Pass the calibrated log-odds base and contributions (``scale="log-odds"``), or the
    baseline probability and probability effects in percentage points (``"probability"``,
    the same allocation the explanation sentences use, so chart and text agree). Either
    way the steps add up exactly to the prediction; the largest ``top`` are shown.
    The baseline and the total are bars from zero, so the axis spans zero and every bar's end
    (a zoom on the steps alone cut them off and hid what they start from).
    """
    order = steps.abs().sort_values(ascending=False, kind="stable").index
    shown, rest = list(order[:top]), list(order[top:])
    names = [labels.get(n, n) for n in shown]
    values = [float(steps[n]) for n in shown]
    if rest:
        names.append(f"{len(rest)} other inputs")
        values.append(float(steps[rest].sum()))
    start = float(base)
    end = start + float(np.sum(values))
    digits = 1 if scale == "probability" else 2
    axis = "probability (%)" if scale == "probability" else "log-odds"
    fig = go.Figure(go.Waterfall(
        name="contributions", orientation="h",
        measure=["absolute", *["relative"] * len(values), "total"],
        y=["baseline (average patient)", *names, "this patient"], x=[start, *values, end],
        text=[f"{start:.{digits}f}", *[f"{v:+.{digits}f}" for v in values],
              f"{end:.{digits}f}"],
        textposition="outside", increasing={"marker": {"color": UP}},
        decreasing={"marker": {"color": DOWN}},
        totals={"marker": {"color": NEUTRAL}}, connector={"line": {"color": "#bbbbbb"}}))
    fig.update_yaxes(autorange="reversed")
    ends = np.concatenate([[0.0, start, end], start + np.cumsum(values)])  # bars from 0 too
    low, high = float(ends.min()), float(ends.max())
    pad = max(0.15 * (high - low), 0.5 if scale == "log-odds" else 5.0)  # room for labels
    fig.update_xaxes(title=axis, range=[low - pad, high + pad])
    fig = layout(fig, title, height=150 + 34 * (len(values) + 2))
    fig.add_annotation(text=WATERFALL_KEY, xref="paper", yref="paper", x=0, y=1,
                       xanchor="left", yanchor="bottom", showarrow=False,
                       font={"size": 12, "color": "#333333"})
    fig.update_layout(margin={"t": 80})  # the title, then the key, above the bars
    return fig


def compare_contributions(contributions: pd.DataFrame, labels: Mapping[str, str],
                          top: int = 12, title: str = "") -> go.Figure:
    """Per-feature effects of 2–4 patients (percentage points), aligned feature by feature."""
    order = contributions.abs().max(axis=1).sort_values(ascending=False).index[:top]
    fig = go.Figure()
    for i, pid in enumerate(contributions.columns):
        fig.add_trace(go.Bar(x=contributions.loc[order, pid],
                             y=[labels.get(n, n) for n in order], orientation="h", name=pid,
                             marker_color=PATIENT_COLOURS[i % len(PATIENT_COLOURS)]))
    fig.update_layout(barmode="group")
    fig.update_xaxes(title="effect on the probability (percentage points; > 0 raises it, "
                           "< 0 lowers it)",
                     zeroline=True, zerolinecolor="#555555")
    fig.update_yaxes(autorange="reversed")
    return layout(fig, title, height=140 + 18 * len(order) * len(contributions.columns))


def importance_bar(importance: pd.Series, top: int = 15, title: str = "") -> go.Figure:
    """Mean absolute effect per input (percentage points), largest at the top."""
    shown = importance.iloc[:top]
    fig = go.Figure(go.Bar(x=shown.to_numpy(), y=list(shown.index), orientation="h",
                           marker_color=DOWN))
    fig.update_xaxes(title="mean effect (percentage points)")
    fig.update_yaxes(autorange="reversed")
    return layout(fig, title, height=120 + 24 * len(shown))


def beeswarm(points: pd.DataFrame, title: str = "", seed: int = 0) -> go.Figure:
    """SHAP beeswarm: one dot per patient and feature, coloured by the feature's value.

    Vertical jitter is seeded, so the same data always draw the same picture.
    """
    features = list(dict.fromkeys(points["feature"]))
    position = {name: i for i, name in enumerate(features)}
    rng = np.random.default_rng(seed)
    y = points["feature"].map(position).to_numpy(dtype=float)
    y = y + rng.uniform(-0.3, 0.3, size=len(y))
    fig = go.Figure(go.Scattergl(
        x=points["contribution"], y=y, mode="markers", text=points["text"],
        customdata=points["feature"],
        hovertemplate="%{customdata}: %{text}<br>effect %{x:+.1f} points<extra></extra>",
        marker={"size": 4, "color": points["value"], "colorscale": VALUE_SCALE, "cmin": 0,
                "cmax": 1, "opacity": 0.7,
                "colorbar": {"title": {"text": "input's value"}, "tickvals": [0, 1],
                             "ticktext": ["low (dark blue)", "high (yellow)"]}}))
    fig.update_yaxes(tickvals=list(range(len(features))), ticktext=features,
                     autorange="reversed")
    fig.update_xaxes(title="effect on the probability (percentage points)", zeroline=True,
                     zerolinecolor="#555555")
    return layout(fig, title, height=120 + 32 * len(features))
