"""Treatment progress: sessions against the expected PHQ-9 course, vitals, side effects,
§5 alerts, and a form to record the next session (the charts update after saving)."""

import streamlit as st

from dashboard.charts.sessions import bp_chart, phq9_trajectory, side_effects_chart
from dashboard.services.entry import save_session
from dashboard.services.form_errors import FormErrors
from dashboard.services.progress import patient_progress, sessions_table
from dashboard.widgets import components, forms, report_button, resources
from dashboard.widgets.durability import render_durability
from dashboard.widgets.session_correction import render_correction
from models.schema import SESSION_FIELDS

PAGE = "progress"  # this page's key in records.policy (and its URL)
ws = components.start_page(PAGE, "Treatment progress")
cohort = resources.cohort(ws)

patient_id = components.patient_picker(cohort, cohort.index, key="pr_patient")
if patient_id is None:
    st.info("The store has no patients yet; add one on the Data entry page.")
    st.stop()

flash = st.session_state.pop("pr_flash", None)
if flash:
    st.success(flash)

progress = patient_progress(ws, cohort, patient_id)
st.subheader(f"{components.plain(progress.name)} · {components.plain(progress.patient_id)}")
st.caption(f"Plan: {progress.plan}")
report_button.render(ws, cohort, patient_id, key="pr_report")
attended = len(progress.sessions)
cols = st.columns(4)
cols[0].metric("Sessions attended", f"{attended} of {progress.planned_sessions}")
cols[1].metric("Baseline PHQ-9", f"{progress.baseline_phq9:g}")
latest = progress.sessions["phq9"].iloc[-1] if attended else None
cols[2].metric("Latest PHQ-9", "—" if latest is None else f"{latest:g}",
               delta=None if latest is None else f"{latest - progress.baseline_phq9:+g}",
               delta_color="inverse")
cols[3].metric("Alerts", len(progress.alerts))
st.markdown(f"**Status:** {progress.status}")

for alert in progress.alerts:
    show = st.error if alert.severity == "high" else st.warning
    show(f"Session {alert.session_number} · {alert.kind}: {alert.message}",
         icon=":material/notification_important:")

st.plotly_chart(phq9_trajectory(progress.sessions, progress.band,
                                       progress.baseline_phq9), key="pr_phq9")
st.caption("Expected course: the PHQ-9 trajectory model's 10th–90th centile for patients "
           "with these inputs (learned from attended sessions of synthetic patients).")
if attended:
    left, right = st.columns(2)
    with left:
        st.plotly_chart(bp_chart(progress.sessions), key="pr_bp")
    with right:
        st.plotly_chart(side_effects_chart(progress.sessions), key="pr_side")
    st.dataframe(sessions_table(progress.sessions), hide_index=True, width="stretch")
else:
    st.info("No sessions recorded yet.")

render_durability(patient_id, cohort=cohort, model_set=ws.model_set, sessions=progress.sessions)

st.subheader("Record a session")
defaults = progress.next_session
fields = [f for f in SESSION_FIELDS if f.name != "patient_id"]
prefix = f"pr_{patient_id}_{defaults['session_number']}"
with st.form(f"session_form_{patient_id}"):
    general = st.empty()
    values, slots = forms.session_fields(fields, defaults, prefix)
    notes = st.text_area("Notes (optional)", key=f"{prefix}_notes")
    if st.form_submit_button("Save session", type="primary"):
        try:
            number = save_session(ws, patient_id, {**values, "notes": notes or None})
        except FormErrors as error:
            forms.show_errors(error, slots, general)
        else:
            st.session_state["pr_flash"] = f"Session {number} saved."
            st.rerun()

render_correction(ws, patient_id, [int(n) for n in progress.sessions["session_number"]])
