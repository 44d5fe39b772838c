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
    st.header(f"Urgent: {len(rows)} patient questionnaire alert(s) to acknowledge")
    st.caption("Answered by the patient at home. The patient was shown crisis resources and "
               "told the answers are not monitored in real time; contact them.")
    for alert in rows:
        st.error(plain(proms.alert_line(alert)), icon=":material/emergency:")
        with st.form(f"{key}_ack_{alert.id}", clear_on_submit=True, border=False):
            action = st.selectbox("What was done", proms.ACK_ACTIONS, index=None,
                                  key=f"{key}_action_{alert.id}",
                                  placeholder="Choose what was done (required)")
            note = st.text_input("Note (optional)", key=f"{key}_note_{alert.id}",
                                 max_chars=2000)
            if st.form_submit_button(f"Acknowledge alert {alert.id}", type="primary"):
                try:
                    proms.acknowledge(ws.engine, alert.id, ws.actor, action, note)
                except (RecordError, ValueError) as error:
                    st.warning(plain(str(error)))
                else:
                    st.session_state[f"{key}_ack_flash"] = (
                        f"Alert {alert.id} acknowledged by {ws.actor.username}.")
                    st.rerun()
    return len(rows)


def render_push_status(ws: SignedInWorkspace) -> None:
    """Whether urgent alerts reach anyone outside this page, and pushes that failed."""
    if ws.actor is None or not may_access(ws.actor.role, IDENTIFIED):
        return
    recipients, failures = proms.push_status(ws.engine)
    if not recipients:
        st.warning("Urgent suicide-risk alerts are not e-mailed to anyone: no on-call address "
                   "is set (KAPCDS_URGENT_ALERT_EMAIL, docs/proms.md). They show only on this "
                   "page, Treatment progress and Cohort overview.", icon=":material/campaign:")
    for line in failures:
        st.error(plain(f"An urgent alert could not be e-mailed to on-call: {line}. Make sure "
                       "someone has seen it."), icon=":material/mail_lock:")
