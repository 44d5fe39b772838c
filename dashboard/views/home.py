"""Home: what this workspace is, the store at a glance and the current model card."""

import streamlit as st

from dashboard import components, resources, services

ws = components.start_page("KAP-CDS clinician workspace")
cohort = resources.cohort(ws)
sessions = resources.all_sessions(ws)

st.write("Decision support for ketamine-assisted psychotherapy: eligibility screening, "
         "predicted response and side-effect risks with their uncertainty and explanation, "
         "and treatment monitoring. Every model here was trained on synthetic data.")
cols = st.columns(3)
cols[0].metric("Patients in the store", f"{len(cohort):,}")
cols[1].metric("Recorded sessions", f"{len(sessions):,}")
eligible = cohort["eligibility_status"].isin(["eligible", "eligible_with_cautions"]).sum()
cols[2].metric("Eligible (screen)", f"{int(eligible):,}")

st.subheader("Current model")
st.caption(f"Version {ws.version}: every prediction on these pages comes from it.")
components.model_card(ws.card, ws.version, expanded=True)

st.subheader("Pages")
for path, text in (
        ("views/candidate_review.py", "Candidate review: screen, predictions, explanation, "
                                      "decision"),
        ("views/compare.py", "Compare patients: two to four side by side"),
        ("views/progress.py", "Treatment progress: sessions, expected course, alerts"),
        ("views/data_entry.py", "Data entry: add or edit a patient, import CSV"),
        ("views/cohort.py", "Cohort overview: population, risks, global importance, alerts")):
    st.page_link(path, label=text)
st.caption(f"Statuses used by the screen: {', '.join(services.STATUS_LABELS.values())}.")
