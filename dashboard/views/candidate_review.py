"""Candidate review: find a patient, then screen, predictions with uncertainty, explanation,
OOD warnings and the clinician's decision (append-only)."""

import pandas as pd
import streamlit as st

from dashboard.charts.explain import shap_waterfall
from dashboard.charts.risk import risk_profile
from dashboard.services.cohort import risk_distributions
from dashboard.services.entry import save_decision
from dashboard.services.form_errors import FormErrors
from dashboard.services.gaps import gap_summary
from dashboard.services.patients import (
    assess_patient,
    decision_history,
    explain_outcome,
    find_patients,
    header_line,
    patient_list,
)
from dashboard.services.workspace import DECISION_LABELS, STATUS_LABELS
from dashboard.widgets import auth, components, forms, report_button, resources
from models.schema import FEATURES, OUTCOMES, feature, outcome
from records.gaps import labels
from records.policy import IDENTIFIED

PAGE = "candidate_review"  # this page's key in records.policy (and its URL)
ws = components.start_page(PAGE, "Candidate review")
cohort = resources.cohort(ws)
LABELS = {f.name: f.label for f in FEATURES}
OUTCOME_NAMES = [o.name for o in OUTCOMES]

left, right = st.columns([2, 3], gap="large")

with left:
    search = st.text_input("Search by patient id or name", key="cr_search",
                           placeholder="e.g. KAP-00012 or a surname")
    statuses = st.multiselect("Eligibility", list(STATUS_LABELS), key="cr_status",
                              format_func=STATUS_LABELS.get)
    f1, f2 = st.columns(2)
    risk_outcome = f1.selectbox("Predicted outcome at least…", [None, *OUTCOME_NAMES],
                                key="cr_risk_outcome",
                                format_func=lambda n: "(any)" if n is None else outcome(n).label)
    risk_min = f2.slider("…this probability (%)", 0, 100, 0, 5, key="cr_risk_min",
                         disabled=risk_outcome is None)
    found = find_patients(cohort, search, statuses, risk_outcome, risk_min / 100)
    st.caption(f"{len(found):,} of {len(cohort):,} patients match")
    probability = st.column_config.ProgressColumn(format="percent", min_value=0, max_value=1)
    st.dataframe(patient_list(found), hide_index=True, height=360,
                 column_config={o.label: probability for o in OUTCOMES})
    patient_id = components.patient_picker(cohort, found.index, key="cr_patient",
                                           label="Open patient")

if patient_id is None:
    right.info("No patient matches the search and filters.")
    st.stop()

assessment = assess_patient(ws, cohort, patient_id)
auth.audit_view("prediction_view", IDENTIFIED, patient_id, detail=f"model {ws.version}")
auth.record_shown(ws, cohort, patient_id)  # what was shown, for monitoring
with right:
    st.subheader(f"{components.plain(assessment.name)} · "
                 f"{components.plain(assessment.patient_id)}")
    st.caption(header_line(assessment))
    if assessment.gaps:  # one line and the list on demand; nothing guessed from the gaps
        st.warning(gap_summary(assessment.gaps, "Not yet assessable") + ". Complete them on "
                   "the Data entry page; until then no screen result, prediction or "
                   "suggestion is shown.", icon=":material/rule:")
        with st.expander("What is missing"):
            st.text(labels(assessment.gaps))
    result = assessment.eligibility
    if result is not None:
        show = {"eligible": st.success, "eligible_with_cautions": st.warning}.get(result.status,
                                                                                  st.error)
        show(f"Eligibility screen: {result.summary}")
        with st.expander("Eligibility checklist (clinical-reference §4)",
                         expanded=result.status != "eligible"):
            for finding in result.indications:
                st.markdown(f":green[✔ indication] · {finding.label} — {finding.reason}")
            for finding in result.exclusions:
                st.markdown(f":red[✖ exclusion] · {finding.label} — {finding.reason}")
            for finding in result.cautions:
                st.markdown(f":orange[⚠ caution] · {finding.label} — {finding.reason}")
    for sentence in assessment.ood:
        st.warning(sentence, icon=":material/travel_explore:")
    if not assessment.ood and not assessment.prediction_needs:
        st.caption("Inputs lie within the range of the training data.")

    if not assessment.prediction_needs:  # never predict from a placeholder
        st.markdown("**Predicted outcomes** (model version "
                    f"`{assessment.model_version}`)")
        table = pd.DataFrame([{
            "outcome": r.label, "predicted": r.probability, "90 % interval": r.interval_text,
            "cohort percentile": r.percentile,
            "test patients predicted": r.similar, "n": r.n_similar, "had it": r.observed,
            "95 % CI": "" if r.observed is None else f"{r.observed_lo:.0%}–{r.observed_hi:.0%}"}
            for r in assessment.risks])
        share = st.column_config.NumberColumn(format="percent", width="small")
        st.dataframe(table, hide_index=True, width="stretch", column_config={
            "predicted": st.column_config.ProgressColumn(format="percent", min_value=0,
                                                         max_value=1, width="small"),
            "test patients predicted": st.column_config.TextColumn("bin", width="small"),
            "95 % CI": st.column_config.TextColumn(width="small"),
            "cohort percentile": st.column_config.NumberColumn("percentile", format="%.0f",
                                                               width="small"),
            "n": st.column_config.NumberColumn(width="small"), "had it": share})
        st.caption("'90 % interval' is the range this patient's probability may lie in "
                   "(bootstrap spread plus the model's estimated approximation error; "
                   "models.uncertainty). 'had it' is how "
                   "often the outcome happened among the n held-out test patients whose "
                   "prediction fell in the same 10-point bin (model card), with a Wilson 95 % "
                   "interval. The percentile places the prediction among the patients in the "
                   "store. Discrimination (ROC AUC with CI) is in the model card below.")
        st.plotly_chart(risk_profile({r.label: r.probability for r in assessment.risks},
                                            risk_distributions(cohort)), key="cr_profile")


@st.fragment
def explanation_panel(patient_id: str, values: dict) -> None:
    """Only this panel reruns when the clinician picks another outcome or scale."""
    c1, c2 = st.columns([2, 1])
    name = c1.selectbox("Explain outcome", OUTCOME_NAMES, key="cr_outcome",
                        format_func=lambda n: outcome(n).label)
    scale = c2.radio("Scale", ["probability", "log-odds"], horizontal=True, key="cr_scale")
    explained = explain_outcome(ws, cohort, patient_id, name)
    labels = {n: f"{LABELS[n]} = {feature(n).format_value(values[n])}"
              for n in explained.explanation.contributions.index}
    e = explained.explanation
    base, steps = ((e.base_proba * 100, e.effects * 100) if scale == "probability"
                   else (e.base, e.contributions))
    st.plotly_chart(shap_waterfall(
        base, steps, labels, scale,
        title=f"Why {explained.label.lower()} is predicted at "
              f"{explained.explanation.proba:.0%}"), key="cr_waterfall")
    st.markdown(f"**Largest effects on {explained.label.lower()}**")
    for sentence in explained.sentences:
        st.markdown(f"- {sentence}")
    st.caption("Exact TreeSHAP on the calibrated log-odds (baseline + contributions = the "
               "prediction); the probability view shares the same change out in proportion, "
               "so its steps also add up exactly. Associations in synthetic data, not causes.")


@st.fragment
def decision_panel(patient_id: str, suggestion: str) -> None:
    """Record a decision; only this panel reruns on submit."""
    labels = DECISION_LABELS
    st.markdown(f"**Suggested by the screen:** {labels[suggestion]}")
    with st.form(f"decision_{patient_id}", clear_on_submit=False):
        general = st.empty()
        decision = st.radio("Decision", list(labels), format_func=labels.get, horizontal=True,
                            index=list(labels).index(suggestion), key=f"dec_{patient_id}")
        clinician = st.text_input("Clinician", key=f"dec_clin_{patient_id}")
        clinician_slot = st.empty()
        reason = st.text_area("Reason (required when the decision differs from the "
                              "suggestion)", key=f"dec_reason_{patient_id}")
        reason_slot = st.empty()
        if st.form_submit_button("Record decision", type="primary"):
            try:
                save_decision(ws, patient_id, decision=decision, suggested=suggestion,
                              clinician=clinician, reason=reason)
                st.success(f"Decision recorded: {labels[decision]}.")
            except FormErrors as error:
                forms.show_errors(error, {"reason": reason_slot, "clinician": clinician_slot},
                                  general)
    history = decision_history(ws, patient_id)
    if history:
        st.markdown("**Decisions so far** (append-only)")
        st.dataframe(pd.DataFrame(history), hide_index=True, width="stretch")


with right:
    st.divider()
    if not assessment.prediction_needs:
        explanation_panel(patient_id, assessment.values)
        st.divider()
    if assessment.suggestion is None:
        st.info("No decision can be recorded yet: the eligibility screen has not run "
                "because inputs are missing (see above).", icon=":material/rule:")
    else:
        decision_panel(patient_id, assessment.suggestion)
    report_button.render(ws, cohort, patient_id, key="cr_report")
    components.model_card(ws.card, ws.version)
