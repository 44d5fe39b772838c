"""Durability view: relapse after the series, maintenance plans, long-term exposure and screens.

Pure plotly builders (testable without Streamlit) plus two render functions the Treatment
progress and Cohort overview pages call: ``render_durability(patient_id, ...)`` for one
patient, ``render_durability(None, ...)`` for the cohort. Data come from
``dashboard.followup_service``; thresholds from ``models.followup_alerts`` so a line on a
chart is the number that raises the alert.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from dashboard import followup_service as svc
from dashboard.service_gaps import PREDICTION_GAPS, needs_message
from models.followup_alerts import DEFAULT_THRESHOLDS, FollowupThresholds
from models.followup_schema import RELAPSE_HORIZON_WEEKS, schedule_label

PLAN_COLOURS = {"none": "#c0392b", "weekly": "#2471a3", "every_two_weeks": "#27ae60",
                "as_needed": "#8e44ad"}
LIMIT = "#7f8c8d"


def _layout(fig: go.Figure, title: str, height: int = 380) -> go.Figure:
    fig.update_layout(title={"text": title, "x": 0.0}, height=height, template="plotly_white",
                      margin={"l": 10, "r": 10, "t": 50, "b": 40},
                      legend={"orientation": "h", "y": -0.2})
    return fig


def _rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r}, {g}, {b}, {alpha})"


def km_figure(curves: dict[str, pd.DataFrame],
              title: str = "Still responding after the series, by maintenance plan "
                           "(Kaplan–Meier, 95 % CI)") -> go.Figure:
    """One step curve per plan with its confidence band; medians in the legend."""
    fig = go.Figure()
    for plan, curve in curves.items():
        colour = PLAN_COLOURS.get(plan, LIMIT)
        median = curve.attrs.get("median", float("inf"))
        median_text = "not reached" if median == float("inf") else f"{median:.0f} d"
        n = curve.attrs.get("n", len(curve))
        name = f"{schedule_label(plan)} (n={n}, median {median_text})"
        fig.add_trace(go.Scatter(x=curve["day"], y=curve["hi"], line={"width": 0},
                                 line_shape="hv", showlegend=False, hoverinfo="skip",
                                 legendgroup=plan))
        fig.add_trace(go.Scatter(x=curve["day"], y=curve["lo"], line={"width": 0},
                                 line_shape="hv", fill="tonexty", showlegend=False,
                                 fillcolor=_rgba(colour, 0.15), hoverinfo="skip",
                                 legendgroup=plan))
        fig.add_trace(go.Scatter(x=curve["day"], y=curve["survival"], name=name,
                                 line={"color": colour, "width": 2}, line_shape="hv",
                                 legendgroup=plan, hovertemplate="day %{x}: %{y:.0%}"))
    fig.add_hline(y=0.5, line={"dash": "dot", "color": LIMIT})
    fig.add_vline(x=7 * RELAPSE_HORIZON_WEEKS, line={"dash": "dot", "color": LIMIT},
                  annotation_text=f"{RELAPSE_HORIZON_WEEKS} weeks")
    fig.update_yaxes(title="still responding", tickformat=".0%", range=[0, 1.02])
    fig.update_xaxes(title="days after the last induction session")
    return _layout(fig, title, height=420)


def plan_risk_figure(risks: pd.DataFrame,
                     title: str = f"Predicted relapse within {RELAPSE_HORIZON_WEEKS} weeks "
                                  "under each maintenance plan") -> go.Figure:
    """Bars of the relapse model's probability per plan; the current plan outlined."""
    colours = [PLAN_COLOURS.get(p, LIMIT) for p in risks["plan"]]
    fig = go.Figure(go.Bar(
        x=risks["label"], y=risks["probability"], marker={
            "color": colours, "line": {"width": [3 if c else 0 for c in risks["current"]],
                                       "color": "#2c3e50"}},
        text=[f"{p:.0%}{' (current)' if c else ''}" for p, c in
              zip(risks["probability"], risks["current"], strict=True)],
        textposition="outside", name="predicted relapse"))
    fig.update_yaxes(title="probability", tickformat=".0%", range=[0, 1.05])
    return _layout(fig, title, height=340)


def exposure_figure(timeline: pd.DataFrame,
                    thresholds: FollowupThresholds = DEFAULT_THRESHOLDS,
                    title: str = "Cumulative ketamine exposure") -> go.Figure:
    """Cumulative sessions and mg/kg over follow-up, each with its alert threshold."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("sessions", "mg/kg"))
    maint = timeline[timeline["kind"] == "maintenance"]
    for col, name, limit in ((1, "cumulative_sessions", thresholds.max_total_sessions),
                             (2, "cumulative_mg_per_kg", thresholds.max_total_mg_per_kg)):
        fig.add_trace(go.Scatter(x=timeline["day_after_series"], y=timeline[name],
                                 mode="lines", line_shape="hv", name=name.replace("_", " "),
                                 line={"color": "#2471a3"}, showlegend=False),
                      row=1, col=col)
        fig.add_trace(go.Scatter(x=maint["day_after_series"], y=maint[name], mode="markers",
                                 name="maintenance session", marker={"color": "#8e44ad"},
                                 showlegend=col == 1), row=1, col=col)
        fig.add_hline(y=limit, line={"dash": "dash", "color": "#c0392b"}, row=1, col=col,
                      annotation_text=f"alert above {limit:g}")
    fig.update_xaxes(title="days after the series")
    return _layout(fig, title, height=340)


def screens_figure(screens: pd.DataFrame,
                   thresholds: FollowupThresholds = DEFAULT_THRESHOLDS,
                   title: str = "Long-term screens") -> go.Figure:
    """Craving, MoCA, emotional blunting and urinary symptoms by week, with alert lines."""
    t = thresholds
    panels = (("craving_score", "craving/dependency (0–10)", t.craving_at_least, (-0.3, 10.3)),
              ("moca", "cognition, MoCA (0–30)", t.moca_below, (15, 30.8)),
              ("blunting_score", "emotional blunting (0–10)", t.blunting_at_least, (-0.3, 10.3)),
              ("urinary_symptoms", "urinary symptoms", None, (-0.1, 1.1)))
    fig = make_subplots(rows=2, cols=2, subplot_titles=[p[1] for p in panels])
    for i, (name, label, limit, yrange) in enumerate(panels):
        row, col = divmod(i, 2)
        values = screens[name].astype(float) if len(screens) else screens[name]
        fig.add_trace(go.Scatter(x=screens["week"], y=values, mode="lines+markers",
                                 name=label, showlegend=False), row=row + 1, col=col + 1)
        if limit is not None:
            fig.add_hline(y=limit, line={"dash": "dash", "color": "#c0392b"},
                          row=row + 1, col=col + 1, annotation_text=f"alert {limit:g}")
        fig.update_yaxes(range=list(yrange), row=row + 1, col=col + 1)
    fig.update_yaxes(tickvals=[0, 1], ticktext=["no", "yes"], row=2, col=2)
    fig.update_xaxes(title="week after the series", row=2)
    return _layout(fig, title, height=480)


# ---------------------------------------------------------------- Streamlit rendering


@st.cache_resource(max_entries=2, show_spinner="Reading follow-up records…")
def _cached(folder: str, stamp: tuple[float, ...]) -> svc.FollowupData | None:
    return svc.read_followup(Path(folder))


def followup_data(folder: Path | str | None = None) -> svc.FollowupData | None:
    """The follow-up files, read once per folder and file version (cached, read-only)."""
    folder = Path(folder or svc.followup_dir())
    return _cached(str(folder), svc.files_stamp(folder))


def _show_alerts(alerts: pd.DataFrame) -> None:
    for alert in alerts.itertuples(index=False):
        show = st.error if alert.severity == "high" else st.warning
        show(f"Day {alert.day_after_series} · {alert.kind}: {alert.message}",
             icon=":material/notification_important:")


def render_durability(patient_id: str | None = None, *, cohort: pd.DataFrame | None = None,
                      model_set: Any = None, sessions: pd.DataFrame | None = None,
                      data: svc.FollowupData | None = None, key: str = "du") -> None:
    """Durability section: one patient's view with ``patient_id``, else the cohort's.

    ``cohort`` (patient rows indexed by id) and ``model_set`` (anything with ``.relapse``)
    feed the per-plan relapse prediction; ``sessions`` are the patient's recorded
    sessions; ``data`` defaults to the follow-up files (``followup_data()``).
    """
    data = data if data is not None else followup_data()
    st.subheader("Durability and long-term follow-up")
    if patient_id is None:
        _render_cohort(data, key)
    else:
        _render_patient(patient_id, cohort, model_set, sessions, data, key)


def _render_cohort(data: svc.FollowupData | None, key: str) -> None:
    if data is None:
        st.info("No follow-up records (followup.csv) were found.")
        return
    st.plotly_chart(km_figure(svc.survival_curves(data.followup)), key=f"{key}_km")
    st.caption("Responders after a completed series; relapse = PHQ-9 back above half of "
               "baseline on two consecutive weekly follow-ups. Synthetic data: plans were "
               "assigned at random, like trial arms.")
    left, right = st.columns([3, 2])
    left.dataframe(svc.durability_table(data.followup), hide_index=True, width="stretch")
    right.markdown("**Long-term alerts** (patients)")
    right.dataframe(svc.cohort_alert_counts(data), hide_index=True, width="stretch")


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
        st.plotly_chart(plan_risk_figure(risks), key=f"{key}_{patient_id}_plans")
        st.caption("The relapse model's estimate for this patient under each plan "
                   "(associations learned from synthetic data, not a causal effect).")
    elif relapse is None:
        st.info("This model version has no relapse model (trained without follow-up).")
    else:
        st.info("Relapse risk is shown once the induction series is complete and the "
                "patient has responded (PHQ-9 at least halved).")
    visits = svc.patient_visits(data, patient_id)
    if visits.empty:
        st.info("No follow-up visits or maintenance sessions recorded for this patient.")
        return
    _show_alerts(svc.patient_alerts(visits))
    left, right = st.columns(2)
    with left:
        st.plotly_chart(exposure_figure(svc.exposure_timeline(visits)),
                        key=f"{key}_{patient_id}_exposure")
    with right:
        st.plotly_chart(screens_figure(svc.screen_results(visits)),
                        key=f"{key}_{patient_id}_screens")
