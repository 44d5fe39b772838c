"""Small pure plotly figure builders (no Streamlit), so tests can call and inspect them.

Each function takes plain frames/series from the service layer and returns a Figure;
thresholds come from ``models.schema`` and ``dashboard.alerts`` so lines drawn on a chart
are the same numbers that raise alerts.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from models.schema import (
    CADSS_SIGNIFICANT,
    POST_DOSE_DBP_ALERT,
    POST_DOSE_SBP_ALERT,
    REMISSION_BELOW,
    RESPONSE_DROP,
)

UP, DOWN, NEUTRAL = "#c0392b", "#2471a3", "#7f8c8d"
BAND = "rgba(36, 113, 163, 0.18)"
PATIENT_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd")
SIDE_EFFECTS = ("nausea", "vomiting", "headache", "dizziness", "sedation")


def _layout(fig: go.Figure, title: str, height: int = 380) -> go.Figure:
    fig.update_layout(title={"text": title, "x": 0.0}, height=height, template="plotly_white",
                      margin={"l": 10, "r": 10, "t": 50, "b": 10},
                      legend={"orientation": "h", "yanchor": "top", "y": -0.22, "x": 0})
    return fig


def shap_waterfall(base: float, steps: pd.Series, labels: Mapping[str, str],
                   scale: str = "probability", top: int = 10, title: str = "") -> go.Figure:
    """Baseline → prediction as a waterfall of additive per-feature steps.

    Pass the calibrated log-odds base and contributions (``scale="log-odds"``), or the
    baseline probability and probability effects in percentage points (``"probability"``,
    the same allocation the explanation sentences use, so chart and text agree). Either
    way the steps add up exactly to the prediction; the largest ``top`` are shown.
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
        decreasing={"marker": {"color": DOWN}}, totals={"marker": {"color": NEUTRAL}},
        connector={"line": {"color": "#bbbbbb"}}))
    fig.update_yaxes(autorange="reversed")
    path = np.concatenate([[start], start + np.cumsum(values)])
    low, high = float(path.min()), float(path.max())
    pad = max(0.35 * (high - low), 0.5 if scale == "log-odds" else 5.0)
    fig.update_xaxes(title=axis, range=[low - pad, high + pad])  # zoom on the steps
    return _layout(fig, title, height=120 + 34 * (len(values) + 2))


def risk_profile(patient: Mapping[str, float], cohort: pd.DataFrame,
                 title: str = "Predicted risks against the cohort") -> go.Figure:
    """Each outcome's cohort distribution (box) with this patient's prediction marked.

    ``patient`` maps outcome label → probability; ``cohort`` is long (outcome, probability).
    """
    fig = go.Figure()
    labels = list(patient)
    for label in labels:
        values = cohort.loc[cohort["outcome"] == label, "probability"] * 100
        fig.add_trace(go.Box(x=values, name=label, orientation="h", marker_color="#aab7c4",
                             boxpoints=False, showlegend=False))
    fig.add_trace(go.Scatter(x=[patient[k] * 100 for k in labels], y=labels, mode="markers",
                             marker={"color": UP, "size": 13, "symbol": "diamond"},
                             name="this patient"))
    fig.update_xaxes(title="predicted probability (%)", range=[0, 100])
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, title, height=110 + 45 * len(labels))


def phq9_trajectory(sessions: pd.DataFrame, band: pd.DataFrame, baseline: float,
                    title: str = "PHQ-9 against the expected course") -> go.Figure:
    """Observed PHQ-9 per session over the trajectory model's 10th–90th centile band."""
    fig = go.Figure()
    x = list(band["session_number"])
    fig.add_trace(go.Scatter(x=x + x[::-1], y=list(band["q90"]) + list(band["q10"])[::-1],
                             fill="toself", fillcolor=BAND, line={"width": 0},
                             name="expected range (10th–90th centile)", hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=x, y=band["q50"], mode="lines", name="expected (median)",
                             line={"dash": "dash", "color": DOWN}))
    observed_x = [0, *sessions["session_number"].tolist()]
    observed_y = [baseline, *sessions["phq9"].tolist()]
    fig.add_trace(go.Scatter(x=observed_x, y=observed_y, mode="lines+markers",
                             name="observed PHQ-9", line={"color": "#222222"},
                             marker={"size": 8}))
    fig.add_hline(y=baseline * (1 - RESPONSE_DROP), line={"dash": "dot", "color": "#27ae60"},
                  annotation_text="response (50 % below baseline)",
                  annotation_position="top left")
    fig.add_hline(y=REMISSION_BELOW, line={"dash": "dot", "color": "#8e44ad"},
                  annotation_text=f"remission (< {REMISSION_BELOW})",
                  annotation_position="bottom left")
    fig.update_xaxes(title="session (0 = baseline)", dtick=1)
    fig.update_yaxes(title="PHQ-9 (points)", range=[0, 27])
    return _layout(fig, title)


def bp_chart(sessions: pd.DataFrame, title: str = "Blood pressure before and ~40 min after "
             "dosing") -> go.Figure:
    """Systolic/diastolic before and after each dose, with the 180/110 alert lines drawn."""
    fig = go.Figure()
    x = sessions["session_number"]
    for column, name, colour, dash in (
            ("sbp_pre", "systolic before", "#e59866", "dot"),
            ("sbp_post", "systolic after", UP, "solid"),
            ("dbp_pre", "diastolic before", "#85c1e9", "dot"),
            ("dbp_post", "diastolic after", DOWN, "solid")):
        fig.add_trace(go.Scatter(x=x, y=sessions[column], name=name, mode="lines+markers",
                                 line={"color": colour, "dash": dash}))
    fig.add_hline(y=POST_DOSE_SBP_ALERT, line={"color": UP, "dash": "dash"},
                  annotation_text=f"systolic alert {POST_DOSE_SBP_ALERT} mmHg")
    fig.add_hline(y=POST_DOSE_DBP_ALERT, line={"color": DOWN, "dash": "dash"},
                  annotation_text=f"diastolic alert {POST_DOSE_DBP_ALERT} mmHg")
    fig.update_xaxes(title="session", dtick=1)
    fig.update_yaxes(title="mmHg")
    return _layout(fig, title)


def side_effects_chart(sessions: pd.DataFrame,
                       title: str = "Dissociation (CADSS) and side effects") -> go.Figure:
    """CADSS bars with the significance line, and a row of markers per side effect."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.6, 0.4],
                        vertical_spacing=0.08)
    x = sessions["session_number"]
    colours = [UP if v >= CADSS_SIGNIFICANT else "#a9cce3" for v in sessions["cadss"]]
    fig.add_trace(go.Bar(x=x, y=sessions["cadss"], marker_color=colours, name="CADSS",
                         showlegend=False), row=1, col=1)
    fig.add_hline(y=CADSS_SIGNIFICANT, line={"dash": "dash", "color": UP}, row=1, col=1,
                  annotation_text=f"significant (≥ {CADSS_SIGNIFICANT})")
    for effect in SIDE_EFFECTS:
        present = sessions[effect].astype(bool)
        fig.add_trace(go.Scatter(x=x[present], y=[effect] * int(present.sum()), mode="markers",
                                 marker={"size": 12, "color": "#d35400", "symbol": "square"},
                                 name=effect, showlegend=False), row=2, col=1)
    fig.update_yaxes(title="CADSS (points)", row=1, col=1)
    fig.update_yaxes(categoryorder="array", categoryarray=list(SIDE_EFFECTS), type="category",
                     range=[-0.5, len(SIDE_EFFECTS) - 0.5], row=2, col=1)
    fig.update_xaxes(title="session", dtick=1, row=2, col=1)
    return _layout(fig, title, height=430)


def compare_risks(risks: pd.DataFrame, title: str = "Predicted outcomes") -> go.Figure:
    """Grouped bars: rows of ``risks`` are outcomes, columns are patients (probabilities)."""
    fig = go.Figure()
    for i, pid in enumerate(risks.columns):
        fig.add_trace(go.Bar(x=risks[pid] * 100, y=risks.index, orientation="h", name=pid,
                             marker_color=PATIENT_COLOURS[i % len(PATIENT_COLOURS)],
                             text=[f"{v:.0%}" for v in risks[pid]], textposition="outside"))
    fig.update_layout(barmode="group")
    fig.update_xaxes(title="predicted probability (%)", range=[0, 105])
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, title, height=140 + 28 * len(risks) * len(risks.columns))


def compare_contributions(contributions: pd.DataFrame, labels: Mapping[str, str],
                          top: int = 12, title: str = "") -> go.Figure:
    """Per-feature contributions of 2–4 patients, aligned feature by feature (log-odds)."""
    order = contributions.abs().max(axis=1).sort_values(ascending=False).index[:top]
    fig = go.Figure()
    for i, pid in enumerate(contributions.columns):
        fig.add_trace(go.Bar(x=contributions.loc[order, pid],
                             y=[labels.get(n, n) for n in order], orientation="h", name=pid,
                             marker_color=PATIENT_COLOURS[i % len(PATIENT_COLOURS)]))
    fig.update_layout(barmode="group")
    fig.update_xaxes(title="contribution (log-odds; > 0 raises the probability)",
                     zeroline=True, zerolinecolor="#555555")
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, title, height=140 + 18 * len(order) * len(contributions.columns))


def importance_bar(importance: pd.Series, top: int = 15, title: str = "") -> go.Figure:
    """Mean |SHAP| per feature (global importance), largest at the top."""
    shown = importance.iloc[:top]
    fig = go.Figure(go.Bar(x=shown.to_numpy(), y=list(shown.index), orientation="h",
                           marker_color=DOWN))
    fig.update_xaxes(title="mean |contribution| (log-odds)")
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, title, height=120 + 24 * len(shown))


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
        hovertemplate="%{customdata}: %{text}<br>contribution %{x:.2f}<extra></extra>",
        marker={"size": 4, "color": points["value"], "colorscale": "RdBu_r", "cmin": 0,
                "cmax": 1, "opacity": 0.7,
                "colorbar": {"title": {"text": "value"}, "tickvals": [0, 1],
                             "ticktext": ["low", "high"]}}))
    fig.update_yaxes(tickvals=list(range(len(features))), ticktext=features,
                     autorange="reversed")
    fig.update_xaxes(title="contribution (log-odds)", zeroline=True, zerolinecolor="#555555")
    return _layout(fig, title, height=120 + 32 * len(features))


def risk_histograms(distributions: pd.DataFrame,
                    title: str = "Predicted-risk distributions") -> go.Figure:
    """One histogram per outcome of every stored patient's predicted probability."""
    labels = list(dict.fromkeys(distributions["outcome"]))
    cols = 3
    rows = max(1, -(-len(labels) // cols))
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=labels)
    for i, label in enumerate(labels):
        values = distributions.loc[distributions["outcome"] == label, "probability"] * 100
        fig.add_trace(go.Histogram(x=values, xbins={"start": 0, "end": 100, "size": 5},
                                   marker_color=DOWN, showlegend=False, name=label),
                      row=i // cols + 1, col=i % cols + 1)
    fig.update_xaxes(range=[0, 100], title="%")
    return _layout(fig, title, height=260 * rows)
