"""A text alternative for any plotly figure: one summary sentence and the data as a table.

Streamlit has no alt text for charts (streamlit#8563, #12211), so WCAG 1.1.1 has to be met by
the app. Both are read from the figure itself, the same numbers that are drawn, so the text
can never disagree with the chart; nothing is added that the figure does not hold.
"""

from __future__ import annotations

import html
import re

import numpy as np
import pandas as pd
import plotly.graph_objects as go

MAX_TABLE_ROWS = 5_000  # a beeswarm of a whole cohort; the table says when it is cut
_TAGS = re.compile(r"<[^>]+>")


def _text(value: object) -> str:
    """Plotly markup (``<b>``, ``<br>``, escaped entities) as plain words."""
    return " ".join(html.unescape(_TAGS.sub(" ", str(value or ""))).split())


def _values(trace: go.BaseTraceType, axis: str) -> np.ndarray | None:
    raw = getattr(trace, axis, None)
    if raw is None:
        return None
    return np.asarray(raw, dtype=object).ravel()


def _trace_rows(trace: go.BaseTraceType) -> pd.DataFrame:
    x, y = _values(trace, "x"), _values(trace, "y")
    if x is None and y is None:
        z = getattr(trace, "z", None)
        if z is None:
            return pd.DataFrame()
        frame = pd.DataFrame(np.asarray(z, dtype=object))
        return frame.stack().rename("value").reset_index().rename(
            columns={"level_0": "row", "level_1": "column"})
    n = len(x) if x is not None else len(y)  # type: ignore[arg-type]
    x = x if x is not None else np.arange(n)
    y = y if y is not None else np.full(n, None)
    size = min(len(x), len(y))
    return pd.DataFrame({"x": x[:size], "y": y[:size]})


def _series_name(trace: go.BaseTraceType) -> str:
    """What the data table and summary call a trace: its ``meta["series"]`` when the
    builder set one (a band's edges share one legend entry but are two series), else its
    legend name."""
    meta = getattr(trace, "meta", None)
    if isinstance(meta, dict) and meta.get("series"):
        return _text(meta["series"])
    return _text(getattr(trace, "name", None))


def figure_table(fig: go.Figure) -> pd.DataFrame:
    """Every drawn point: series name, x, y (or row/column/value for heat maps)."""
    parts = []
    for index, trace in enumerate(fig.data):
        rows = _trace_rows(trace)
        if rows.empty:
            continue
        name = _series_name(trace) or f"series {index + 1}"
        rows.insert(0, "series", name)
        parts.append(rows)
    if not parts:
        return pd.DataFrame(columns=["series", "x", "y"])
    table = pd.concat(parts, ignore_index=True)
    for column in table.columns[1:]:  # one type per column (a chart may mix words and numbers)
        numbers = pd.to_numeric(table[column], errors="coerce")
        if numbers.notna().sum() != table[column].notna().sum():
            table[column] = table[column].map(lambda v: "" if v is None else str(v))
        else:
            table[column] = numbers
    x_title, y_title = _axis_title(fig, "xaxis"), _axis_title(fig, "yaxis")
    return table.rename(columns={"x": x_title or "x", "y": y_title or "y"}).head(MAX_TABLE_ROWS)


def _axis_title(fig: go.Figure, axis: str) -> str:
    layout_axis = getattr(fig.layout, axis, None)
    title = getattr(getattr(layout_axis, "title", None), "text", None)
    return _text(title)


def _range(values: pd.Series) -> str | None:
    numbers = pd.to_numeric(values, errors="coerce").dropna()
    if numbers.empty:
        return None
    low, high = float(numbers.min()), float(numbers.max())
    return f"{low:.3g}" if low == high else f"{low:.3g} to {high:.3g}"


def figure_summary(fig: go.Figure) -> str:
    """One sentence: the title, each series and the range of its values."""
    title = _text(getattr(getattr(fig.layout, "title", None), "text", None)) or "Chart"
    table = figure_table(fig)
    if table.empty:
        return f"{title}: no data to show."
    value_column = table.columns[-1]
    series = []
    for name, rows in table.groupby("series", sort=False):
        span = _range(rows[value_column])
        points = f"{len(rows)} point{'s' if len(rows) != 1 else ''}"
        series.append(f"{name} ({points}{', ' + span if span else ''})")
    unit = f" {value_column}" if value_column not in ("y", "value") else ""
    return f"{title}: {'; '.join(series)}{' — values are' + unit if unit else ''}."


def table_note(fig: go.Figure) -> str | None:
    """Says when the table stops short of everything drawn (never silently)."""
    drawn = sum(len(_trace_rows(trace)) for trace in fig.data)
    if drawn > MAX_TABLE_ROWS:
        return f"The table shows the first {MAX_TABLE_ROWS:,} of {drawn:,} points."
    return None
