"""Treatment progress: sessions against the expected PHQ-9 course, vitals, side effects,
§5 alerts, and a form to record the next session (the charts update after saving)."""

import streamlit as st

from dashboard.charts.sessions import bp_chart, phq9_trajectory, side_effects_chart
from dashboard.services.entry.followup import plan_now
from dashboard.services.patients import roster
from dashboard.services.patients.progress import (
    CARRIED_COLUMN,
    PAST_PLAN_COLUMN,
    patient_progress,
    sessions_table,
    when_column,
)
from dashboard.services.patients.proms import reported_points
from dashboard.widgets import components, resources
from dashboard.widgets.chart_view import show_chart
from dashboard.widgets.entry import followup_form, session_form
from dashboard.widgets.entry.session_correction import render_correction
from dashboard.widgets.patients import monitoring_pdf, prom_alerts, proms_panel, report_button
from dashboard.widgets.patients.durability import render_durability

PAGE = "progress"  # this page's key in records.security.policy (and its URL)
ws = components.start_page(PAGE, "Treatment progress")
# A fresh server predicts the whole store in the background (about a minute at 100,000
# patients); one patient's progress needs only that patient's row, so the page does not
# wait: the picker pages the store and the chosen patient is predicted now (issue 31).
cohort = resources.cohort_if_built(ws)
if cohort is None:
    search = st.text_input("Search by patient id or name", key="pr_search",
                           placeholder="e.g. KAP-00012 or a surname")
    store = roster.store_page(ws, search, 1, components.kept_patients("pr_patient"))
    cohort, listed, reachable = store.rows, store.ids, store.reachable
    st.caption(f"{store.matching:,} of {store.total:,} patients match"
               + (f"; the first {len(listed):,} are listed: search to find another"
                  if store.matching > len(listed) else ""))
else:
    listed, reachable = list(cohort.index), None

patient_id = components.patient_picker(cohort, listed, key="pr_patient", reachable=reachable)
if patient_id is None:
    st.info("The store has no patients yet; add one on the Data entry page.")
    st.stop()

flash = st.session_state.pop(session_form.FLASH_KEY, None)
if flash:
    st.success(flash)
for warning in st.session_state.pop(session_form.WARN_KEY, None) or []:
    st.warning(warning, icon=":material/warning:")

progress = patient_progress(ws, cohort, patient_id)
st.header(f"{components.plain(progress.name)} · {components.plain(progress.patient_id)}")
st.caption(f"Plan: {progress.plan}")
report_button.render(ws, cohort, patient_id, key="pr_report")
series = progress.sessions[progress.sessions["phase"] == "induction"]  # maintenance: after
attended = len(series)
cols = st.columns(4)
cols[0].metric("Sessions attended", f"{attended} of {progress.planned}" if progress.planned
               is not None else f"{attended} (planned number not recorded)",
               delta=f"{progress.past_plan} past the plan" if progress.past_plan else None,
               delta_color="off", delta_arrow="off")
cols[1].metric("Baseline PHQ-9", f"{progress.baseline_phq9:g}")
latest = progress.sessions["phq9"].iloc[-1] if len(progress.sessions) else None
cols[2].metric("Latest PHQ-9", "—" if latest is None else f"{latest:g}",
               delta=None if latest is None else f"{latest - progress.baseline_phq9:+g}",
               delta_color="inverse")
cols[3].metric("Alerts", len(progress.alerts))
st.markdown(f"**Status:** {progress.status}")

prom_alerts.render(ws, patient_id, key="pr_prom")
for alert in progress.alerts:
    show = st.error if alert.severity == "high" else st.warning
    show(f"Session {alert.session_number} · {alert.kind}: {alert.message}",
         icon=":material/notification_important:")

reported = reported_points(ws.engine, patient_id, progress.sessions)
show_chart(phq9_trajectory(progress.sessions, progress.band, progress.baseline_phq9,
                           reported=reported), key="pr_phq9")
st.caption("Expected course: the PHQ-9 trajectory model's 10th–90th centile for patients "
           "with these inputs (learned from attended sessions of synthetic patients)."
           + (f" {len(reported)} patient-reported PHQ-9 (open diamonds) answered by link "
              "between sessions; those after the series are follow-up visits below."
              if len(reported) else ""))
if len(progress.sessions):
    left, right = st.columns(2)
    with left:
        show_chart(bp_chart(progress.sessions), key="pr_bp")
    with right:
        show_chart(side_effects_chart(progress.sessions), key="pr_side")
    table = sessions_table(progress.sessions, progress.planned)
    if progress.past_plan:
        st.warning(f"{progress.past_plan} session(s) recorded past the plan of "
                   f"{progress.planned}: see \"{PAST_PLAN_COLUMN}\" in the table.",
                   icon=":material/warning:")
    st.dataframe(table, hide_index=True, width="stretch", column_config={
        "Session": st.column_config.NumberColumn(pinned=True, width="small"),
        when_column(): st.column_config.TextColumn(pinned=True, width=150),
        PAST_PLAN_COLUMN: st.column_config.TextColumn(width=140),
        CARRIED_COLUMN: st.column_config.TextColumn(width=170)})
    monitoring_pdf.render(ws, patient_id, progress.sessions)
else:
    st.info("No sessions recorded yet.")

render_durability(patient_id, cohort=cohort, model_set=ws.model_set, sessions=progress.sessions,
                  engine=ws.engine)

proms_panel.render_patient(ws, patient_id)

session_form.render(ws, patient_id, progress.next_session)

followup_form.render(ws, patient_id, progress.next_session, attended, plan_now(ws, patient_id))

render_correction(ws, patient_id, [int(n) for n in progress.sessions["session_number"]])
