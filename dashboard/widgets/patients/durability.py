"""Durability section (Streamlit): relapse after the series, maintenance plans, long-term
exposure and screens.

``render_durability(patient_id, ...)`` for one patient (Treatment progress),
``render_durability(None, ...)`` for the cohort (Cohort overview). Data come from
``dashboard.services.patients.followup``; figures from ``dashboard.charts.durability``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from dashboard.charts.durability import exposure_figure, km_figure, plan_risk_figure, screens_figure
from dashboard.services.cohort.export import rows_for
from dashboard.services.patients import followup as svc
from dashboard.services.patients.gaps import PREDICTION_GAPS, needs_message
from dashboard.widgets.chart_view import show_chart
from dashboard.widgets.components import plain
from models.contract.schema import feature
from records.security.policy import patient_view


@st.cache_resource(max_entries=2, show_spinner="Reading follow-up records…")
def _cached(_engine: Engine, url: str, stamp: tuple[int, ...]) -> svc.FollowupData | None:
    return svc.load_followup(_engine)


def followup_data(engine: Engine) -> svc.FollowupData | None:
    """The store's follow-up, summarised once per store state (cached, read-only)."""
    return _cached(engine, str(engine.url), svc.store_stamp(engine))


def _routes_table(routes: pd.DataFrame) -> pd.DataFrame:
    """Exposure by route in clinical wording: ketamine in mg/kg (two decimals), esketamine in
    mg; a unit a route is not dosed in is shown as a dash, never as a number or "nan"."""
    label = feature("route").category_label
    esk = routes["esketamine_mg"] if "esketamine_mg" in routes else [None] * len(routes)
    return pd.DataFrame({
        "Route": [r if r == "all routes" else label(r) for r in routes["route"]],
        "Phase": routes["phase"].to_numpy(), "Sessions": routes["sessions"].astype(int),
        "Ketamine (mg/kg)": ["—" if pd.isna(v) else f"{v:.2f}" for v in routes["mg_per_kg"]],
        "Esketamine (mg)": ["—" if pd.isna(v) else f"{v:.0f}" for v in esk],
    }).set_index("Route")


def _show_alerts(alerts: pd.DataFrame) -> None:
    for alert in alerts.itertuples(index=False):
        show = st.error if alert.severity == "high" else st.warning
        show(f"Day {alert.day_after_series} · {alert.kind}: {alert.message}",
             icon=":material/notification_important:")


def render_durability(patient_id: str | None = None, *, cohort: pd.DataFrame | None = None,
                      model_set: Any = None, sessions: pd.DataFrame | None = None,
                      data: svc.FollowupData | None = None, engine: Engine | None = None,
                      role: str | None = None, key: str = "du") -> None:
    """Durability section: one patient's view with ``patient_id``, else the cohort's.

    ``cohort`` (patient rows indexed by id) and ``model_set`` (anything with ``.relapse``)
    feed the per-plan relapse prediction; ``sessions`` are the patient's recorded
    sessions; ``data`` defaults to the store's follow-up (``followup_data(engine)``);
    ``role`` decides how the cohort alert list shows patients (``rows_for``).
    """
    if data is None and engine is not None:  # one patient's records, or the whole store's
        data = followup_data(engine) if patient_id is None else svc.load_followup(engine,
                                                                                   patient_id)
    st.header("Durability and long-term follow-up")
    if patient_id is None:
        _render_cohort(data, role, key)
    else:
        _render_patient(patient_id, cohort, model_set, sessions, data, key)


def _render_cohort(data: svc.FollowupData | None, role: str | None, key: str) -> None:
    if data is None:
        st.info("The store has no follow-up records yet (visits, maintenance sessions or "
                "plans are recorded on Treatment progress).")
        return
    show_chart(km_figure(svc.survival_curves(data.followup)), key=f"{key}_km")
    st.caption("Responders after a completed series; relapse = PHQ-9 back above half of "
               "baseline on two consecutive weekly follow-ups. Synthetic data: plans were "
               "assigned at random, like trial arms.")
    left, right = st.columns([3, 2])
    left.dataframe(svc.durability_table(data.followup), hide_index=True, width="stretch")
    right.markdown("**Long-term alerts** (patients)")
    right.dataframe(svc.cohort_alert_counts(data), hide_index=True, width="stretch")
    if patient_view(role) is not None:  # roles without patient-level data see the counts
        with st.expander("Long-term alert list (every patient in follow-up)"):
            st.dataframe(rows_for(svc.cohort_alerts(data), role), hide_index=True,
                         width="stretch")


def _render_patient(patient_id: str, cohort: pd.DataFrame | None, model_set: Any,
                    sessions: pd.DataFrame | None, data: svc.FollowupData | None,
                    key: str) -> None:
    known = cohort is not None and patient_id in cohort.index
    patient = cohort.loc[patient_id] if known else None  # type: ignore[union-attr]
    planned = int(patient["planned_sessions"]) if patient is not None else None
    end = svc.series_end(patient_id, data, sessions, planned)
    relapse = getattr(model_set, "relapse", None)
    needs = list(patient.get(PREDICTION_GAPS, []) or []) if patient is not None else []
    risks = (svc.plan_risks(relapse, patient, end) if not needs and relapse is not None
             and patient is not None and end is not None else None)
    if needs:  # issue 7: no relapse risk from placeholders
        st.info(f"Relapse risk is hidden: {needs_message(needs)}.", icon=":material/block:")
    elif risks is not None:
        show_chart(plan_risk_figure(risks), key=f"{key}_{patient_id}_plans")
        st.caption("The relapse model's estimate for this patient under each plan "
                   "(associations learned from synthetic data, not a causal effect).")
    elif relapse is None:
        st.info("This model version has no relapse model (trained without follow-up).")
    else:
        st.info("Relapse risk is shown once the induction series is complete and the "
                "patient has responded (PHQ-9 at least halved).")
    status = svc.relapse_text(data, patient_id)
    if status:
        st.markdown(f"**Relapse status:** {plain(status)}")
    visits = svc.patient_visits(data, patient_id)
    if visits.empty:
        st.info("No follow-up visits or maintenance sessions recorded for this patient.")
        return
    _show_alerts(svc.patient_alerts(visits, data=data))
    st.markdown("**Cumulative exposure by route** (induction + maintenance)")
    st.table(_routes_table(svc.route_exposure(data, patient_id)))  # a few rows, as text
    left, right = st.columns(2)
    with left:
        show_chart(exposure_figure(svc.exposure_timeline(visits)),
                        key=f"{key}_{patient_id}_exposure")
    with right:
        show_chart(screens_figure(svc.screen_results(visits)),
                        key=f"{key}_{patient_id}_screens")
