"""Every chart with its text alternative: a summary line and a "data as a table" toggle."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import streamlit as st

from dashboard.charts.text_alternative import figure_summary, figure_table, table_note
from dashboard.widgets.components import plain


def show_chart(fig: go.Figure, *, key: str, where: Any = None, **options: Any) -> None:
    """Draw ``fig`` in ``where`` (default: the page), then its summary and its data table.

    The summary is made inert (``components.plain``), so a patient-entered name in a series
    can never render as Markdown or HTML.
    """
    target = where if where is not None else st
    target.plotly_chart(fig, key=key, **options)
    container = target.container()
    container.caption(plain(figure_summary(fig)))
    # A toggle, off by default: the table is built only when asked for (a cohort chart can
    # hold thousands of points) and adds no element to the page until then.
    if container.toggle("Data as a table", key=f"{key}_show_table"):
        container.dataframe(figure_table(fig), hide_index=True, key=f"{key}_table",
                            width="stretch")
        if note := table_note(fig):
            container.caption(note)
