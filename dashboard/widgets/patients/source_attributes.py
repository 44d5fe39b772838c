"""The "Source attributes" panel beside every prediction (issue 28; ONC HTI-1 and FDA CDS
criterion 4): the 31 attributes of the version that made the prediction, so whoever reads
a number can review what it rests on, including where nothing is known and why.

Opened by default when the page's URL carries ``?show=source_attributes`` (the CDS Hooks
link card and the PDF report point there).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from dashboard.services.lab import governance
from dashboard.services.workspace import (
    Workspace,
    patients_fingerprint,
    sessions_fingerprint,
)
from dashboard.widgets.components import plain

SHOW_PARAM, SHOW_VALUE = "show", "source_attributes"
TITLE = "Source attributes (ONC HTI-1): what these predictions rest on"


@st.cache_data(max_entries=8, ttl=600, show_spinner="Reading the source attributes…")
def _facts(_ws: Workspace, _card: dict[str, Any], version: str, store: str, patients: tuple,
           sessions: tuple, clinic: float) -> dict[str, Any]:
    return governance.store_facts(_ws.engine, _card)


def facts_for(ws: Workspace, card: dict[str, Any] | None = None) -> dict[str, Any]:
    """A version's governance facts (default: the current one), cached until the store, the
    clinic file or the version changes, and for at most 10 minutes."""
    card = ws.card if card is None else card
    return _facts(ws, card, str(card.get("version")),
                  ws.engine.url.render_as_string(hide_password=True),
                  patients_fingerprint(ws.engine), sessions_fingerprint(ws.engine),
                  governance.clinic_stamp())


def render_attributes(facts: dict[str, Any]) -> None:
    """The 31 attributes as text (values may hold the clinic's own words: never Markdown)."""
    st.caption(f"{facts['notice']} Model version `{facts['version']}`. Each attribute has a "
               "value or says why it is not available.")
    if facts.get("clinic_problem"):
        st.warning(f"The clinic file could not be read: {plain(facts['clinic_problem'])}")
    for number, title, text, available in governance.attribute_rows(facts):
        st.markdown(f"**{number}. {plain(title)}**" + ("" if available else
                                                        " · :orange[not available]"))
        st.markdown("\n".join(f"- {plain(line)}" for line in text.split("\n") if line))


def panel(ws: Workspace) -> None:
    """The expander with the 31 attributes of the version behind the predictions shown.

    Filled only once opened (a rerun on opening): the attributes' local results read every
    stored patient and session, which at 100,000 patients took most of Candidate review's
    time and memory on a fresh server (issue 31), for a panel most renders keep closed.
    """
    expanded = st.query_params.get(SHOW_PARAM) == SHOW_VALUE
    box = st.expander(TITLE, expanded=expanded, icon=":material/fact_check:",
                      key=PANEL_KEY, on_change="rerun")
    if box.open:
        with box:
            render_attributes(facts_for(ws))
    else:
        box.caption(CLOSED_NOTE)


PANEL_KEY = "source_attributes_open"
CLOSED_NOTE = "Open to read the attributes (read from the store when opened)."
