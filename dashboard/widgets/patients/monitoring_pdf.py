"""Per-session monitoring forms (PDF) on the progress page: one download button a session.

The PDF is built only when clicked (a callable ``data``), from the stored record, so it
always prints what the store holds now (a correction shows at once); each download is
audited as an export. Shown only to roles that may see identified data (it names the
patient).
"""

from __future__ import annotations

import logging

import pandas as pd
import streamlit as st

from base.clock import clinic_text
from dashboard.services.workspace import Workspace
from records.audit import trail as audit
from records.db import session_factory
from records.security.policy import IDENTIFIED, may_access

log = logging.getLogger(__name__)
MIME = "application/pdf"


def _pdf(ws: Workspace, patient_id: str, number: int) -> bytes:
    from interop.reports.monitoring_form import session_monitoring_pdf  # reportlab only when asked

    with session_factory(ws.engine)() as session:
        return session_monitoring_pdf(session, patient_id, number)


def _recorded(row: pd.Series) -> str:
    dose, ready = row.get("dose_at"), row.get("ready_at")
    if pd.isna(dose) or pd.isna(ready):
        return "monitoring record not recorded (printed as such)"
    minutes = (pd.Timestamp(ready) - pd.Timestamp(dose)).total_seconds() / 60
    return f"monitored {minutes:g} min"


def render(ws: Workspace, patient_id: str, sessions: pd.DataFrame) -> None:
    """An expander listing the sessions, each with its monitoring-form download button."""
    actor = getattr(ws, "actor", None)
    if sessions.empty or actor is None or not may_access(actor.role, IDENTIFIED):
        return
    with st.expander("Session monitoring forms (PDF)", icon=":material/picture_as_pdf:"):
        st.caption("One printable REMS-style monitoring record per session; fields that "
                   "were not recorded print as \"not recorded\".")
        for row in sessions.sort_values("session_number").to_dict("records"):
            number = int(row["session_number"])
            left, right = st.columns([3, 1])
            left.text(f"Session {number} · {clinic_text(row.get('session_at'))} · "
                      f"{_recorded(pd.Series(row))}")

            def data(number: int = number) -> bytes:
                pdf = _pdf(ws, patient_id, number)
                audit.record_now(ws.engine, actor, "export", IDENTIFIED, patient_id=patient_id,
                                 detail=f"session {number} monitoring form PDF")
                return pdf

            right.download_button("Monitoring form", data, key=f"pr_mon_pdf_{patient_id}_{number}",
                                  file_name=f"{patient_id}-session-{number}-monitoring.pdf",
                                  mime=MIME, icon=":material/download:", on_click="ignore")
