"""Colours and the common layout of every dashboard figure."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import plotly.graph_objects as go

UP, DOWN, NEUTRAL = "#c0392b", "#2471a3", "#7f8c8d"


BAND = "rgba(36, 113, 163, 0.18)"


PATIENT_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd")


SIDE_EFFECTS = ("nausea", "vomiting", "headache", "dizziness", "sedation")


def inert(value: object) -> object:
    """Text plotly would read as HTML (``<a href>``, ``<b>``, ``<img>``) made literal.

    Plotly renders a subset of HTML in names, titles, hover text and annotations, so a
    patient id, a name or a scenario title typed by a user is escaped before it gets there.
    Lists and arrays are escaped element by element; numbers pass unchanged.
    """
    if isinstance(value, str):
        return html.escape(value, quote=False)
    if isinstance(value, (list, tuple, np.ndarray, pd.Series)):
        items = list(value)
        if any(isinstance(item, str) for item in items):
            return [inert(item) for item in items]
    return value


_TEXT_ATTRIBUTES = ("name", "text", "hovertext", "customdata", "legendgroup", "x", "y")


def make_inert(fig: go.Figure) -> go.Figure:
    """Escape every data-driven text of a figure (traces, titles, axes, annotations).

    Hover templates stay as written: they are this code's own, and the values they pull in
    (``%{text}``, ``%{customdata}``) are escaped here.
    """
    for trace in fig.data:
        for attribute in _TEXT_ATTRIBUTES:
            value = getattr(trace, attribute, None)
            if value is not None:
                trace[attribute] = inert(value)
    if fig.layout.title and fig.layout.title.text:
        fig.layout.title.text = inert(fig.layout.title.text)
    for annotation in fig.layout.annotations or ():
        annotation.text = inert(annotation.text)
    for axis in [a for a in dir(fig.layout) if a.startswith(("xaxis", "yaxis"))]:
        title = getattr(getattr(fig.layout, axis), "title", None)
        if title is not None and title.text:
            title.text = inert(title.text)
        ticks = getattr(getattr(fig.layout, axis), "ticktext", None)
        if ticks is not None:
            getattr(fig.layout, axis).ticktext = inert(ticks)
    return fig


def layout(fig: go.Figure, title: str, height: int = 380) -> go.Figure:
    """Title, size, white template and a legend under the plot: one look for every figure.

    Every figure ends here, so every figure's text is made inert here (``make_inert``).
    """
    fig.update_layout(title={"text": title, "x": 0.0}, height=height, template="plotly_white",
                      margin={"l": 10, "r": 10, "t": 50, "b": 10},
                      legend={"orientation": "h", "yanchor": "top", "y": -0.22, "x": 0})
    return make_inert(fig)


def rgba(hex_colour: str, alpha: float) -> str:
    """``#rrggbb`` as an rgba() string with ``alpha`` (for confidence bands)."""
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r}, {g}, {b}, {alpha})"
