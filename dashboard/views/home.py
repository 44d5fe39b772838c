"""Home: what this workspace is, the store at a glance and the current model card."""

import streamlit as st

from dashboard.services.cohort import overview as service_cohort
from dashboard.services.workspace import HOME_TITLES, STATUS_LABELS
from dashboard.widgets import components, resources
from dashboard.widgets.patients import prom_alerts, proms_panel
from dashboard.widgets.signin import auth
from records.security.policy import IDENTIFIED, may_access, may_open

PAGE = "home"  # this page's key in records.security.policy (and its URL)
ws = components.start_page(PAGE, HOME_TITLES)
st.write("Decision support for ketamine-assisted psychotherapy: eligibility screening, "
         "predicted response and side-effect risks with their uncertainty and explanation, "
         "and treatment monitoring. Every model here was trained on synthetic data.")
if ws.actor is not None and may_access(ws.actor.role, IDENTIFIED):
    prom_alerts.render(ws, key="home_prom")  # urgent: above everything else
    prom_alerts.render_push_status(ws)  # do urgent alerts reach anyone off this page?
cols = st.columns(3)
stored = service_cohort.stored_patients(ws)
cols[0].metric("Patients in the store", f"{stored:,}")
cols[1].metric("Recorded sessions", f"{service_cohort.recorded_sessions(ws):,}")
# a small store's build takes about a second: wait that long rather than flash "being
# computed"; a large one's takes a minute: do not wait at all (issue 31)
pending = resources.cohort_pending(ws, wait_s=0 if stored >= resources.WAIT_BELOW else 1.0)
if pending:  # a fresh server or a new model: being prepared
    cols[2].metric("Eligible (screen)", "being computed")
    st.info("The store's screens and predictions are being computed for this model "
            "version (once per version). Candidate review and Treatment progress list "
            "patients already and predict the ones they show, and the session alerts below "
            "come from the store; filters and pages that need every patient fill in when it "
            "is done.")
else:
    cohort = resources.cohort(ws)
    eligible = cohort["eligibility_status"].isin(["eligible", "eligible_with_cautions"]).sum()
    cols[2].metric("Eligible (screen)", f"{int(eligible):,}")

st.header("Current model")
st.caption(f"Version {ws.version}: every prediction on these pages comes from it.")
components.model_card(ws.card, ws.version, expanded=True)
if ws.actor is not None and may_access(ws.actor.role, IDENTIFIED):
    proms_panel.render_clinic(ws)  # due / overdue / completed, completion rate

# The alerts come from the store's sessions, never from predictions: shown at once, also
# while the predictions are being computed (issue 31).
st.header("Session alerts now")
alerts, checked = resources.alerts_overview(ws, only_in_treatment=True)
counts = service_cohort.alert_counts(alerts)
st.caption(f"Alerts raised at the latest session of the {checked:,} patients still in "
           f"treatment; {alerts['patient_id'].nunique():,} have at least one. Thresholds "
           "marked unsourced are clinic settings, not evidence.")
if counts.empty:
    st.info("No session alerts for patients still in treatment.")
else:
    st.dataframe(counts, hide_index=True, width="stretch")
if may_open(ws.actor.role, "cohort"):
    st.page_link("views/cohort.py", label="See who: Cohort overview → alerts",
                 icon=":material/notifications:")

st.header("Pages")
for key, text in (
        ("candidate_review", "Candidate review: screen, predictions, explanation, decision"),
        ("compare", "Compare patients: two to four side by side"),
        ("progress", "Treatment progress: sessions, expected course, alerts"),
        ("data_entry", "Data entry: add or edit a patient, import CSV"),
        ("cohort", "Cohort overview: population, risks, global importance, alerts"),
        ("what_if", "What-if explorer: change inputs, watch predictions move (de-identified)"),
        ("model_lab", "Model lab: retrain, evaluate, compare versions, promote"),
        ("audit", "Audit log: who did what, when; verify and export"),
        ("users", "Users: accounts and roles")):
    if may_open(ws.actor.role, key) and (auth.VIEWS / f"{key}.py").is_file():
        st.page_link(f"views/{key}.py", label=text)
st.caption(f"Statuses used by the screen: {', '.join(STATUS_LABELS.values())}.")
