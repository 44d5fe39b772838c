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
    with container.expander("Data as a table", expanded=False):
        st.dataframe(figure_table(fig), hide_index=True, key=f"{key}_table", width="stretch")
        if note := table_note(fig):
            st.caption(note)
