"""Candidate review: find a patient, then screen, predictions with uncertainty, explanation,
OOD warnings and the clinician's decision (append-only)."""

from functools import partial

import pandas as pd
import streamlit as st

from dashboard.charts.explain import shap_waterfall
from dashboard.charts.risk import risk_profile
from dashboard.services.cohort.overview import risk_summaries
from dashboard.services.entry.form_errors import FormErrors
from dashboard.services.entry.writes import save_decision
from dashboard.services.lab.quality import greyed_line, greyed_note, shown_outcomes
from dashboard.services.patients import roster
from dashboard.services.patients.gaps import gap_summary
from dashboard.services.patients.listing import (
    PAGE_SIZE,
    assess_patient,
    decision_history,
    explain_outcome,
    find_patients,
    header_line,
    page_count,
    page_slice,
    patient_list,
    risk_table,
)
from dashboard.services.workspace import DECISION_LABELS, STATUS_LABELS
from dashboard.widgets import components, resources
from dashboard.widgets.chart_view import show_chart
from dashboard.widgets.entry import forms
from dashboard.widgets.entry.submission import form_instance, renew
from dashboard.widgets.patients import report_button, source_attributes
from dashboard.widgets.signin import auth, smart
from dashboard.widgets.tables import percent_column
from models.contract.doses import not_applicable
from models.contract.schema import DOSE_FEATURES, FEATURES, OUTCOMES, feature, outcome
from records.gaps import labels
from records.security.policy import IDENTIFIED

PAGE = "candidate_review"  # this page's key in records.security.policy (and its URL)
ws = components.start_page(PAGE, "Candidate review")
smart.show_notes(st.session_state.get(components.PATIENT_KEY))  # opened from the EHR
# A fresh server (or a new model) predicts the whole store in the background, about a minute
# at 100,000 patients. Meanwhile the list comes from the store and only the rows shown are
# predicted; whatever needs every patient says it is being computed (issue 31).
cohort = resources.cohort_if_built(ws)
LABELS = {f.name: f.label for f in FEATURES}
OUTCOME_NAMES = [o.name for o in OUTCOMES]
SHOWN = shown_outcomes(ws.card)  # outcomes passing the quality gate (models.clinical.quality_gate)

# The list spans the page so every column (eligibility, each outcome's risk) stays readable
# at 1280 px; the chosen patient's assessment follows below it.
left, right = st.container(), st.container()

with left:
    c1, c2, c3, c4 = st.columns([3, 3, 2, 2])
    search = c1.text_input("Search by patient id or name", key="cr_search",
                           placeholder="e.g. KAP-00012 or a surname")
    statuses = c2.multiselect("Eligibility", list(STATUS_LABELS), key="cr_status",
                              format_func=STATUS_LABELS.get)
    risk_outcome = c3.selectbox("Predicted outcome at least…", [None, *SHOWN],
                                key="cr_risk_outcome",
                                format_func=lambda n: "(any)" if n is None else outcome(n).label)
    # No disabled slider (its grey label fails WCAG contrast): the filter appears once an
    # outcome is chosen, and says so until then.
    if risk_outcome is None:
        c4.caption("Choose an outcome to filter by its probability.")
        risk_min = 0
    else:
        risk_min = c4.slider("…this probability (%)", 0, 100, 0, 5, key="cr_risk_min")
    waiting = cohort is None and roster.filters_need_cohort(statuses, risk_outcome,
                                                            risk_min / 100)
    if waiting:  # the search needs only ids and names; the other filters wait
        st.info("The eligibility and risk filters need every patient's screen and "
                "predicted risk, which are being computed for this model version; the "
                "list fills in when that is done.", icon=":material/hourglass_top:")
    if cohort is None:  # paged by the store; only the rows shown are predicted, now
        store = roster.store_page(ws, search, int(st.session_state.get("cr_page", 1)),
                                  components.kept_patients("cr_patient"), empty=waiting)
        n_found, n_all, rows, reachable = store.matching, store.total, store.rows, store.reachable
    else:
        found = find_patients(cohort, search, statuses, risk_outcome, risk_min / 100)
        n_found, n_all, rows, reachable = len(found), len(cohort), cohort, found.index
    pages = page_count(n_found)
    c1, c2 = st.columns([3, 1])
    if st.session_state.get("cr_page", 1) > pages:  # the filter shortened the list
        st.session_state["cr_page"] = pages
    page = c2.number_input("Page", min_value=1, max_value=pages, step=1, key="cr_page",
                           help=f"{PAGE_SIZE} patients per page, in patient-id order")
    shown_rows = page_slice(n_found, int(page))
    c1.caption(f"{n_found:,} of {n_all:,} patients match" + (
        f" · showing {shown_rows.start + 1:,}–{shown_rows.stop:,}" if n_found else ""))
    page_ids, listed = ((store.ids, store.listed) if cohort is None else
                        (found.index[shown_rows], patient_list(found.iloc[shown_rows], ws.card)))
    st.dataframe(listed, hide_index=True, height=300,
                 width="stretch",
                 column_config={o.label: percent_column(
                     (o.short or o.label)[:1].upper() + (o.short or o.label)[1:],
                     width="small", help=f"{o.label}: {o.definition}") for o in OUTCOMES})
    if note := greyed_note(ws.card):
        st.caption(note)
    patient_id = components.patient_picker(rows, page_ids, key="cr_patient",
                                           label="Open patient", reachable=reachable)
    st.divider()

if cohort is None:
    @st.fragment(run_every=5)
    def refill_when_built() -> None:
        """Rerun the page once the background build is done, so the filters, percentiles
        and the store's risk profile fill in without the clinician reloading."""
        if not resources.cohort_pending(ws, wait_s=0):
            st.rerun()

    refill_when_built()

if patient_id is None:
    if not waiting:
        right.info("No patient matches the search and filters.")
    st.stop()

assessment = assess_patient(ws, rows, patient_id, ranked=cohort is not None)
auth.audit_view("prediction_view", IDENTIFIED, patient_id, detail=f"model {ws.version}")
auth.record_shown(ws, rows, patient_id)  # what was shown, for monitoring
with right:
    st.header(f"{components.plain(assessment.name)} · "
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
        shown = [r for r in assessment.risks if r.reliable]
        table = risk_table(shown, assessment.percentiles_pending)
        if shown:
            st.dataframe(table, hide_index=True, width="stretch", column_config={
                "Predicted": percent_column(width="small"),
                "Range (90 %)": st.column_config.TextColumn(
                    width="small", help="Where this patient's probability may lie: the spread "
                    "of a bootstrap ensemble plus the model's estimated approximation error."),
                "Percentile": (st.column_config.TextColumn if cohort is None else partial(
                    st.column_config.NumberColumn, format="%d"))(
                    width="small", help="Share of the patients in the store with a lower "
                    "prediction (computed once every patient's prediction is)."),
                "What happened to similar test patients": st.column_config.TextColumn(
                    help="How often the outcome happened among held-out test patients whose "
                         "prediction was in the same 10-point range (with a 95 % interval)."),
            })
        for r in assessment.risks:  # the quality gate: greyed, nothing patient-specific
            if not r.reliable and r.quality is not None:
                st.markdown(f":gray[{greyed_line(r.quality)}]",
                            help=r.quality.reason)
        if shown:
            st.caption("'What happened to similar test patients' shows how far such a number "
                       "has been from reality on patients the model never saw; it is not a "
                       "range for this patient. How well each model ranks patients is in the "
                       "model card below.")
            source_attributes.panel(ws)
            with st.expander("How this is computed"):
                st.markdown("Calibrated LightGBM models trained on synthetic data. The evidence "
                            "column is the observed rate (Wilson 95 % interval) among held-out "
                            "test patients whose predictions fell in the same 10-point bin of "
                            "the model card's calibration curve; the percentile ranks the "
                            "prediction among the patients in the store.")
            if cohort is None:
                st.caption("How this patient compares with the store: being computed for "
                           "this model version; the chart appears when it is done.")
            else:
                show_chart(risk_profile({r.label: r.probability for r in shown},
                                        risk_summaries(cohort, ws.card)), key="cr_profile")


@st.fragment
def explanation_panel(patient_id: str, values: dict) -> None:
    """Only this panel reruns when the clinician picks another outcome or scale."""
    if not SHOWN:
        st.info("No outcome model passes the quality gate, so there is nothing to explain.")
        return
    c1, c2 = st.columns([2, 1])
    name = c1.selectbox("Explain outcome", SHOWN, key="cr_outcome",
                        format_func=lambda n: outcome(n).label,
                        help=greyed_note(ws.card) or None)
    scale = c2.radio("Scale", ["probability", "log-odds"], horizontal=True, key="cr_scale",
                     format_func=lambda k: {"probability": "percentage points",
                                            "log-odds": "technical (log-odds)"}[k])
    explained = explain_outcome(ws, rows, patient_id, name)
    labels = {n: f"{LABELS[n]} = {feature(n).format_value(values[n])}"
              for n in explained.explanation.contributions.index}
    e = explained.explanation
    base, steps = ((e.base_proba * 100, e.effects * 100) if scale == "probability"
                   else (e.base, e.contributions))
    # the dose in the other route's unit is no input of this patient (its share is in the
    # recorded dose, models.contract.doses.dose_contributions): no bar, no "not applicable"
    steps = steps.drop([n for n in DOSE_FEATURES if not_applicable(n, values.get("route"))],
                       errors="ignore")
    show_chart(shap_waterfall(
        base, steps, labels, scale,
        title=f"Why {explained.label.lower()} is predicted at "
              f"{explained.explanation.proba:.0%}"), key="cr_waterfall")
    st.markdown(f"**Largest effects on {explained.label.lower()}**")
    for sentence in explained.sentences:
        st.markdown(f"- {sentence}")
    st.caption("Each bar is how much that input moved this patient's prediction away from "
               "the average patient's. Associations learned from synthetic data, not causes.")
    with st.expander("How this is computed"):
        st.markdown("Exact TreeSHAP on the calibrated log-odds (baseline + contributions = the "
                    "prediction); the percentage-point view shares the same change out in "
                    "proportion, so its steps also add up exactly.")
    if note := greyed_note(ws.card):
        st.caption(note + " Its explanation is not shown either.")


@st.fragment
def decision_panel(patient_id: str, suggestion: str) -> None:
    """Record a decision; only this panel reruns on a refused submit. The decisions table is
    append-only, so the form's submission token makes a double click store one decision;
    after saving, the form is drawn empty and says what was recorded."""
    labels = DECISION_LABELS
    st.markdown(f"**Suggested by the screen:** {labels[suggestion]}")
    form = form_instance(f"decision_{patient_id}")
    if saved := st.session_state.pop(f"dec_saved_{patient_id}", None):
        st.success(saved)
    with st.form(form.key(f"decision_{patient_id}"), clear_on_submit=False):
        general = st.empty()
        # nothing chosen for the clinician: the suggestion is shown above, the choice is theirs
        decision = st.radio("Decision", list(labels), format_func=labels.get, horizontal=True,
                            index=None, key=form.key(f"dec_{patient_id}"))
        decision_slot = st.empty()
        who = ws.actor  # the signed-in user: the record carries their name and role
        st.caption(f"Recorded as {components.plain(who.username)} "  # type: ignore[union-attr]
                   f"({auth.ROLE_LABELS.get(who.role, who.role)}), "  # type: ignore[union-attr]
                   "the signed-in user.")
        reason = st.text_area("Reason (required when the decision differs from the "
                              "suggestion)", key=form.key(f"dec_reason_{patient_id}"))
        reason_slot = st.empty()
        if st.form_submit_button("Record decision", type="primary"):
            try:
                decision_id = save_decision(ws, patient_id, decision=decision,
                                            suggested=suggestion, reason=reason,
                                            token=form.token)
            except FormErrors as error:
                forms.show_errors(error, {"reason": reason_slot, "decision": decision_slot},
                                  general)
            else:
                renew(form)  # drawn empty; a late second click reaches no button
                st.session_state[f"dec_saved_{patient_id}"] = (
                    f"Decision recorded: {labels[decision]} (saved as decision "
                    f"#{decision_id} for {patient_id}).")
                st.rerun()  # the form is drawn anew, with what was saved above it
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
    report_button.render(ws, rows, patient_id, key="cr_report")
    components.model_card(ws.card, ws.version)
