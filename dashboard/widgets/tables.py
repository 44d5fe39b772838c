"""Column settings shared by every table: percentages as the clinician reads them.

Values come from ``models.clinical.risk_wording.percent_values`` (0–100, whole numbers, one decimal
below 1 %), so a sortable column never shows false precision such as ``61.05 %``.
"""

from __future__ import annotations

import streamlit as st

PERCENT_FORMAT = "%g%%"  # sprintf: 42 -> "42%", 0.4 -> "0.4%"


def percent_column(label: str | None = None, bar: bool = True,
                   width: str | None = None, help: str | None = None):  # noqa: A002
    """A 0–100 percentage column, with a bar by default."""
    if bar:
        return st.column_config.ProgressColumn(label, format=PERCENT_FORMAT, min_value=0,
                                               max_value=100, width=width, help=help)
    return st.column_config.NumberColumn(label, format=PERCENT_FORMAT, width=width, help=help)
