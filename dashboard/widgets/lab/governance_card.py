"""The model lab's governance card (issue 28): the full card, its TRIPOD+AI status, the 31
HTI-1 attributes and the four exports, for any version (same facts as `kapcds card`)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from dashboard.services.lab import governance
from dashboard.services.workspace import Workspace
from dashboard.widgets.components import plain
from dashboard.widgets.patients import source_attributes
from records.audit import trail as audit
from records.security.policy import MODEL


def _downloads(ws: Workspace, facts: dict[str, Any]) -> None:
    actor = getattr(ws, "actor", None)
    version = facts["version"]
    for column, (fmt, (label, ext, mime)) in zip(st.columns(len(governance.EXPORTS)),
                                                  governance.EXPORTS.items(), strict=True):
        def data(fmt: str = fmt) -> bytes:  # built on click only, and audited
            content = governance.export(facts, fmt)
            if actor is not None:
                audit.record_now(ws.engine, actor, "export", MODEL,
                                 detail=f"governance card {fmt} of {version}")
            return content

        column.download_button(label, data, file_name=f"kapcds-{version}-{fmt}.{ext}",
                               mime=mime, key=f"gov_dl_{fmt}", on_click="ignore",
                               icon=":material/download:")


def render(ws: Workspace, card: dict[str, Any]) -> None:
    """The governance card of ``card``'s version."""
    facts = source_attributes.facts_for(ws, card)
    local = facts["local"]
    where = local.get("source") or local.get("not_available", "")
    st.caption(f"{facts['notice']} Local results: {plain(where)}.")
    _downloads(ws, facts)
    st.markdown(f"**TRIPOD+AI** (BMJ 2024;385:e078378): {governance.tripod_summary(facts)}")
    st.dataframe(governance.tripod_table(facts), hide_index=True, key="gov_tripod",
                 width="stretch")
    for heading, lines in governance.sections(facts):
        with st.expander(heading, expanded=heading in ("Subgroups (held-out)",
                                                       "Local validity and fairness")):
            st.markdown("\n".join(f"- {plain(line)}" for line in lines if line))
    with st.expander("HTI-1 source attributes (all 31)"):
        source_attributes.render_attributes(facts)
