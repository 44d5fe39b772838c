"""Urgent alerts from patient questionnaires (PHQ-9 item 9 > 0, a positive C-SSRS screen):
shown on Home and the patient's progress page until a clinician acknowledges them.

Kept apart from the session alerts on purpose: these come from the patient at home, nobody
has spoken to them yet, and each one must be acknowledged (audited), not just seen.
"""

from __future__ import annotations

import streamlit as st

from dashboard.services.access import SignedInWorkspace
from dashboard.services.patients import proms
from dashboard.widgets.components import plain
from records.errors import RecordError
from records.security.policy import IDENTIFIED, may_access


def render(ws: SignedInWorkspace, patient_id: str | None = None, key: str = "prom") -> int:
    """Each open alert with an acknowledge form; returns how many are open."""
    if ws.actor is None or not may_access(ws.actor.role, IDENTIFIED):
        return 0
    flash = st.session_state.pop(f"{key}_ack_flash", None)
    if flash:
        st.success(flash)
    rows = proms.open_alerts(ws.engine, patient_id)
    if not rows:
        return 0
    st.subheader(f"Urgent: {len(rows)} patient questionnaire alert(s) to acknowledge")
    st.caption("Answered by the patient at home. The patient was shown crisis resources and "
               "told the answers are not monitored in real time; contact them.")
    for alert in rows:
        st.error(plain(proms.alert_line(alert)), icon=":material/emergency:")
        with st.form(f"{key}_ack_{alert.id}", clear_on_submit=True, border=False):
            note = st.text_input("What was done (optional)", key=f"{key}_note_{alert.id}",
                                 max_chars=2000)
            if st.form_submit_button(f"Acknowledge alert {alert.id}", type="primary"):
                try:
                    proms.acknowledge(ws.engine, alert.id, ws.actor, note)
                except RecordError as error:
                    st.warning(plain(str(error)))
                else:
                    st.session_state[f"{key}_ack_flash"] = (
                        f"Alert {alert.id} acknowledged by {ws.actor.username}.")
                    st.rerun()
    return len(rows)
