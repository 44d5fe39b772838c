"""Colours and the common layout of every dashboard figure."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import plotly.graph_objects as go

# Okabe & Ito's colour-blind-safe palette (2008): told apart with any colour-vision deficiency.
# Blue, vermillion, bluish green, reddish purple and black have at least 3:1 against white
# (WCAG 1.4.11 for graphics); orange, sky blue and yellow do not, so they mark nothing alone.
# Categorical traces take their colours from here; none carries meaning by colour alone (a
# legend, a label, a sign or a line style says it too).
OKABE_ITO = {"orange": "#E69F00", "sky blue": "#56B4E9", "bluish green": "#009E73",
             "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00",
             "reddish purple": "#CC79A7", "black": "#000000"}

# An effect that raises the chance (vermillion) or lowers it (blue); grey for what is neither.
UP, DOWN, NEUTRAL = OKABE_ITO["vermillion"], OKABE_ITO["blue"], "#7f8c8d"
RAISES, LOWERS = "raises the chance", "lowers the chance"


BAND = "rgba(0, 114, 178, 0.18)"

# A value scale (low -> high, e.g. the beeswarm's input values): cividis runs dark blue to
# yellow, readable with every colour-vision deficiency and still ordered in greyscale
# (Nuñez, Anderton & Renslow 2018); a red-blue scale is neither.
VALUE_SCALE = "Cividis"


PATIENT_COLOURS = tuple(OKABE_ITO[c] for c in ("blue", "vermillion", "bluish green",
                                               "reddish purple"))  # each >= 3:1 on white


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
