"""Cohort overview: the population, predicted-risk distributions, what drives the predictions and
the alerts of patients still in treatment."""

import streamlit as st

from dashboard.charts.explain import beeswarm, importance_bar
from dashboard.charts.risk import risk_histograms
from dashboard.services.access import audited_download
from dashboard.services.cohort.export import predictions_csv, rows_for
from dashboard.services.cohort.overview import population_summary, risk_counts
from dashboard.services.lab.quality import greyed_note, shown_outcomes
from dashboard.widgets import components, resources
from dashboard.widgets.chart_view import show_chart
from dashboard.widgets.patients import prom_alerts
from dashboard.widgets.patients.durability import render_durability
from models.clinical.risk_wording import percent_value
from models.contract.schema import outcome
from records.security.policy import patient_view

PAGE = "cohort"  # this page's key in records.security.policy (and its URL)
ws = components.start_page(PAGE, "Cohort overview")
# A fresh server predicts the whole store in the background; what needs every prediction
# waits for it, the alerts (from the store's sessions) never do (issue 31).
cohort = resources.cohort_if_built(ws)
if cohort is None:
    st.info(f"Every patient's screen and predicted risks are being computed for model "
            f"version {ws.version} (once per version; about a minute for a large store). The "
            "summary, the risk distributions, what drives the predictions and the "
            "predictions download appear here when that is done; the alerts below come from "
            "the store now.", icon=":material/hourglass_top:")

    @st.fragment(run_every=5)
    def refill_when_built() -> None:
        """Rerun the page once the background build is done."""
        if not resources.cohort_pending(ws, wait_s=0):
            st.rerun()

    refill_when_built()
elif cohort.empty:
    st.info("The store has no patients yet.")
    st.stop()
else:
    summary = population_summary(cohort)
    headline = summary["headline"]
    cols = st.columns(len(headline))
    for col, (label, value) in zip(cols, headline.items(), strict=True):
        text = (f"{value:,.0f}" if label == "patients" else
                f"{percent_value(value / 100):g}" if label.endswith("(%)") else f"{value:.1f}")
        col.metric(label[:1].upper() + label[1:], text)
    left, right = st.columns(2)
    left.markdown("**Eligibility (rule-based screen)**")
    left.dataframe(summary["eligibility"], hide_index=True, width="stretch")
    right.markdown("**Indications** (a patient may have several)")
    right.dataframe(summary["indications"], hide_index=True, width="stretch")

    show_chart(risk_histograms(risk_counts(cohort, ws.card)), key="co_hist")
    st.caption(f"Predictions of model version {ws.version} for every patient in the store, "
               "computed once per model version and patient set.")
    if note := greyed_note(ws.card):
        st.markdown(f":gray[{note}]")

    st.header("What drives the predictions")
    shown = shown_outcomes(ws.card)
    if not shown:
        st.info("No outcome model passes the quality gate, so there is nothing to explain.")
    else:  # gated outcomes have no explanation (models.clinical.quality_gate)
        name = st.selectbox("Outcome", shown, key="co_outcome",
                            format_func=lambda n: outcome(n).label)
        explained = resources.cohort_explanations(ws)[name]
        left, right = st.columns([2, 3])
        with left:
            show_chart(importance_bar(explained.importance,
                                           title="Inputs that move the prediction most"),
                            key="co_importance")
        with right:
            show_chart(beeswarm(explained.beeswarm, title="Each patient's contribution "
                                     "(colour = the input's value)"), key="co_beeswarm")
        st.caption(f"How much each input raised or lowered the predicted probability, over "
                   f"{explained.n_patients:,} patients without missing inputs. Associations "
                   "learned from synthetic data, not causes.")
        with st.expander("How this is computed"):
            st.markdown("Exact TreeSHAP contributions on the calibrated log-odds of each "
                        "patient's prediction, shared out along the logistic curve so that they "
                        "add up to the difference between the patient's probability and the "
                        "average patient's, in percentage points.")

prom_alerts.render(ws, key="co_prom")  # clinicians: urgent answers from patients at home
st.header("Alerts at the latest session")
scope = st.radio("Patients", ["still in treatment", "everyone with sessions"],
                 horizontal=True, key="co_scope")
alerts, checked = resources.alerts_overview(ws, only_in_treatment=scope == "still in treatment")
st.caption(f"{components.counted(checked, 'patient')} checked; "
           f"{alerts['patient_id'].nunique():,} with alerts.")
if checked == 0 and scope == "still in treatment":
    st.info("No patient is still in treatment: every patient with sessions has finished or "
            "stopped the series. Choose 'everyone with sessions' to see the alerts raised at "
            "their last session.")
elif alerts.empty:
    st.info("No alerts for these patients.")
else:  # trainees see pseudonyms, data scientists no names (records.security.policy)
    st.dataframe(rows_for(alerts, ws.actor.role), hide_index=True, width="stretch")

if cohort is not None:  # nothing to export before the predictions exist
    st.download_button(
        "Download every patient's predictions (CSV)", key="co_download", mime="text/csv",
        file_name=f"kapcds-predictions-{ws.version}.csv", icon=":material/download:",
        data=audited_download(ws, "export", patient_view(ws.actor.role) or "aggregate",
                              lambda: predictions_csv(cohort, ws.actor.role, card=ws.card),
                              detail=f"cohort predictions, model {ws.version}"),
        help="As your role may see them: names for clinicians, none for data scientists, "
             "pseudonyms and no identifiers for trainees.")

render_durability(model_set=ws.model_set, engine=ws.engine, role=ws.actor.role)
