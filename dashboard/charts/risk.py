"""Risk figures: one patient against the cohort, patients side by side, cohort histograms.

Pure plotly builders (no Streamlit), so tests can call and inspect them.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.charts.style import DOWN, PATIENT_COLOURS, UP, layout


def risk_profile(patient: Mapping[str, float], summaries: pd.DataFrame,
                 title: str = "Predicted risks against the cohort") -> go.Figure:
    """Each outcome's cohort distribution (box) with this patient's prediction marked.

    ``patient`` maps outcome label → probability; ``summaries`` holds the cohort's box
    statistics per outcome label (``services.cohort.risk_summaries``), so the figure
    carries five numbers per outcome, not every patient's prediction.
    """
    fig = go.Figure()
    labels = list(patient)
    for label in labels:
        if label not in summaries.index:
            continue
        stats = summaries.loc[label] * 100
        fig.add_trace(go.Box(y=[label], q1=[stats["q1"]], median=[stats["median"]],
                             q3=[stats["q3"]], lowerfence=[stats["lowerfence"]],
                             upperfence=[stats["upperfence"]], name=label, orientation="h",
                             marker_color="#aab7c4", showlegend=False,
                             hovertemplate=f"{label}: cohort of {int(summaries.loc[label, 'n']):,}"
                                           "<extra></extra>"))
    fig.add_trace(go.Scatter(x=[patient[k] * 100 for k in labels], y=labels, mode="markers",
                             marker={"color": UP, "size": 13, "symbol": "diamond"},
                             name="this patient"))
    fig.update_xaxes(title="predicted probability (%)", range=[0, 100])
    fig.update_yaxes(autorange="reversed")
    return layout(fig, title, height=110 + 45 * len(labels))


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
    return layout(fig, title, height=140 + 28 * len(risks) * len(risks.columns))


def risk_histograms(counts: pd.DataFrame,
                    title: str = "Predicted-risk distributions") -> go.Figure:
    """One histogram per outcome of every stored patient's predicted probability, from the
    bin counts of ``services.cohort.risk_counts`` (5-point bins)."""
    labels = list(dict.fromkeys(counts["outcome"]))
    cols = 3
    rows = max(1, -(-len(labels) // cols))
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=labels)
    for i, label in enumerate(labels):
        part = counts[counts["outcome"] == label]
        width = float(part["bin_start"].diff().dropna().min()) if len(part) > 1 else 0.05
        fig.add_trace(go.Bar(x=(part["bin_start"] + width / 2) * 100, y=part["patients"],
                             width=width * 100, marker_color=DOWN, showlegend=False,
                             name=label, hovertemplate="%{y:,} patients<extra></extra>"),
                      row=i // cols + 1, col=i % cols + 1)
    fig.update_layout(bargap=0)
    fig.update_xaxes(range=[0, 100], title="%")
    return layout(fig, title, height=260 * rows)
