"""Compare patients: two to four side by side, inputs and predictions aligned feature by feature."""

import streamlit as st

from dashboard.charts.explain import compare_contributions
from dashboard.charts.risk import compare_risks
from dashboard.services.lab.quality import greyed_note, shown_outcomes
from dashboard.services.patients.compare import MAX_COMPARE, compare_patients
from dashboard.services.workspace import STATUS_LABELS
from dashboard.widgets import components, resources
from dashboard.widgets.chart_view import show_chart
from dashboard.widgets.patients import source_attributes
from dashboard.widgets.signin import auth
from models.contract.schema import FEATURES, NAME_COLUMN, outcome
from records.security.policy import IDENTIFIED

PAGE = "compare"  # this page's key in records.security.policy (and its URL)
ws = components.start_page(PAGE, "Compare patients")
cohort = resources.cohort(ws)
LABELS = {f.name: f.label for f in FEATURES}

ids = list(cohort.index)
if len(ids) < 2:
    st.info("At least two patients are needed to compare.")
    st.stop()
if "cmp_patients" not in st.session_state:
    first = st.session_state.get(components.PATIENT_KEY, ids[0])
    first = first if first in cohort.index else ids[0]
    st.session_state["cmp_patients"] = [first, next(p for p in ids if p != first)]
names = cohort[NAME_COLUMN]
chosen = st.multiselect("Patients (2 to 4)", ids, key="cmp_patients",
                        max_selections=MAX_COMPARE,
                        format_func=lambda pid: f"{pid} — {names.get(pid, '')}")
shown = shown_outcomes(ws.card)  # outcomes passing the quality gate (models.clinical.quality_gate)
if not shown:
    st.info("No outcome model passes the quality gate: there are no predictions to compare.")
    st.stop()
name = st.selectbox("Outcome to explain", shown, key="cmp_outcome",
                    format_func=lambda n: outcome(n).label)
if len(chosen) < 2:
    st.info("Choose at least two patients.")
    st.stop()

comparison = compare_patients(ws, cohort, chosen, name)
for shown in comparison.patient_ids:  # each patient's record and predictions were shown
    auth.audit_view("prediction_view", IDENTIFIED, shown, detail=f"compare, model {ws.version}")
left, right = st.columns(2, gap="large")
with left:
    show_chart(compare_risks(comparison.risks), key="cmp_risks")
with right:
    show_chart(compare_contributions(
        comparison.contributions, LABELS,
        title=f"What drives {outcome(name).label.lower()}, feature by feature"),
        key="cmp_contrib")
if note := greyed_note(ws.card):
    st.markdown(f":gray[{note}]")
source_attributes.panel(ws)

st.header("Eligibility")
st.dataframe({pid: [STATUS_LABELS[cohort.loc[pid, "eligibility_status"]]]
              for pid in comparison.patient_ids}, hide_index=True)

st.header("Inputs side by side")
only_diff = st.toggle("Show only inputs that differ", value=True, key="cmp_only_diff")
inputs = comparison.inputs.loc[comparison.differing] if only_diff else comparison.inputs
st.caption(f"{len(comparison.differing)} of {len(comparison.inputs)} inputs differ.")
st.dataframe(inputs, width="stretch", height=min(35 * (len(inputs) + 1) + 3, 700))
