"""Monitoring (data scientists): how a model version does on the clinic's own patients,
realised ROC AUC and calibration with CIs, input drift of recent patients, and whether
recalibration or retraining is suggested (rule in docs/monitoring.md)."""

import streamlit as st

from base import settings
from dashboard.charts.monitoring import decile_calibration
from dashboard.services.lab import monitoring
from dashboard.widgets import components
from dashboard.widgets.chart_view import show_chart
from dashboard.widgets.lab import clinic_update
from dashboard.widgets.tables import percent_column
from models.contract.schema import outcome
from models.store.registry import Registry

PAGE = "monitoring"  # this page's key in records.security.policy (and its URL)
ws = components.start_page(PAGE, "Monitoring")
registry = Registry(settings.default_registry_dir())
versions = [row["id"] for row in registry.versions()][::-1]
current = registry.current_version()

c1, c2, c3 = st.columns([3, 2, 2])
version = c1.selectbox("Model version", versions, key="mon_version",
                       index=versions.index(current) if current in versions else 0,
                       format_func=lambda v: f"{v}{' (current)' if v == current else ''}")
recent = c2.number_input("Recent patients (drift)", 20, 100_000,
                         settings.monitor_recent_patients(), 50, key="mon_recent")
backscore = c3.toggle("Back-score unseen series", value=True, key="mon_backscore",
                      help="Score the version now on ended series nobody was shown a "
                      "prediction for, leaving out patients it trained or validated on.")
with st.spinner("Scoring the store's ended series…"):
    result = monitoring.monitor_store(ws.engine, registry, version, backscore, int(recent))

if result.suggestion:
    st.error(f"**{result.suggestion.capitalize()}** for version `{version}`.",
             icon=":material/warning:")
    for reason in result.reasons:
        st.markdown(f"- {components.plain(reason)}")
    st.markdown("**The update that would answer it** (run by a data scientist; the result "
                "is a candidate version to review and promote here in the model lab):")
    for number, (action, link) in enumerate(zip(result.actions, monitoring.lab_updates(result),
                                                 strict=True)):
        left, right = st.columns([4, 1])
        left.markdown(f"- {components.plain(action)}")
        if right.button("Open in the model lab", key=f"mon_lab_{number}",
                        icon=":material/arrow_forward:"):
            st.session_state[clinic_update.HANDOFF] = link
            st.switch_page("views/model_lab.py")
else:
    st.success(f"No recalibration or retraining suggested for `{version}`: "
               f"{components.plain(result.reasons[0])}.", icon=":material/check_circle:")
st.caption(f"Realised outcomes of {result.n_patients:,} patients: {result.source}. "
           "Outcomes are derived from the recorded sessions with the reference definitions "
           "once a series has ended (planned sessions reached, or a dropout recorded).")

st.markdown("**Realised performance** (95 % bootstrap CIs; calibration intercept near 0 and "
            "slope near 1 is good)")
narrow = st.column_config.TextColumn(width="small")
st.dataframe(monitoring.outcome_table(result), hide_index=True, key="mon_outcomes",
             width="stretch", column_config={"n": st.column_config.NumberColumn(width=50),
                                             "events": st.column_config.NumberColumn(width=60),
                                             "suggestion": narrow})
not_enough = [o for o in result.outcomes if o.suggestion == "not enough outcomes yet"]
if not_enough:
    st.caption("Not enough outcomes yet: " + "; ".join(
        f"{outcome(o.outcome).label} ({o.reason})" for o in not_enough))
judged = [o for o in result.outcomes if o.deciles]
if judged:
    chosen = st.selectbox("Observed vs predicted by decile", [o.outcome for o in judged],
                          key="mon_outcome", format_func=lambda n: outcome(n).label)
    entry = next(o for o in judged if o.outcome == chosen)
    show_chart(decile_calibration(monitoring.decile_frame(entry),
                                       title=f"{outcome(chosen).label}: calibration by "
                                       "decile (Wilson 95 % CI)"), key="mon_deciles")

st.markdown(f"**Input drift**: the {result.n_recent:,} newest patients against the "
            "training patients (PSI; < 0.1 stable, 0.1–0.25 moderate, > 0.25 significant)")
drift = monitoring.drift_frame(result)
if drift.empty:
    st.info("This version's card holds no training profile, so drift cannot be computed.")
else:
    st.dataframe(drift, hide_index=True, key="mon_drift", width="stretch", height=260,
                 column_config={"PSI": st.column_config.NumberColumn(format="%.3f")})

st.markdown("**CDS Hooks cards in the EHR**: how often each card type was accepted or "
            "overridden (the EHR's feedback; override reasons as the EHR sent them)")
overrides = monitoring.cds_override_rates(ws.engine)
if overrides.empty:
    st.info("No CDS Hooks card has been returned to an EHR yet, so there is no feedback to "
            "show.", icon=":material/info:")
else:
    st.dataframe(overrides, hide_index=True, key="mon_cds_overrides", width="stretch",
                 column_config={"override rate": percent_column(bar=False)})
