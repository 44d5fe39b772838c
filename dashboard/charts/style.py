"""Colours and the common layout of every dashboard figure."""

from __future__ import annotations

import plotly.graph_objects as go

UP, DOWN, NEUTRAL = "#c0392b", "#2471a3", "#7f8c8d"


BAND = "rgba(36, 113, 163, 0.18)"


PATIENT_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd")


SIDE_EFFECTS = ("nausea", "vomiting", "headache", "dizziness", "sedation")


def layout(fig: go.Figure, title: str, height: int = 380) -> go.Figure:
    """Title, size, white template and a legend under the plot: one look for every figure."""
    fig.update_layout(title={"text": title, "x": 0.0}, height=height, template="plotly_white",
                      margin={"l": 10, "r": 10, "t": 50, "b": 10},
                      legend={"orientation": "h", "yanchor": "top", "y": -0.22, "x": 0})
    return fig


def rgba(hex_colour: str, alpha: float) -> str:
    """``#rrggbb`` as an rgba() string with ``alpha`` (for confidence bands)."""
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r}, {g}, {b}, {alpha})"
