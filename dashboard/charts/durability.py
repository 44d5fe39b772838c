"""Durability figures: Kaplan-Meier by maintenance plan, relapse risk by plan, cumulative
exposure and long-term screens. Thresholds from ``models.clinical.followup_alerts`` so a line on a
chart is the number that raises the alert. Pure plotly builders (no Streamlit).
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.charts.style import OKABE_ITO, layout, rgba
from models.clinical.followup_alerts import DEFAULT_THRESHOLDS, FollowupThresholds
from models.contract.followup_schema import RELAPSE_HORIZON_WEEKS, schedule_label

PLAN_COLOURS = {"none": OKABE_ITO["vermillion"], "weekly": OKABE_ITO["blue"],
                "every_two_weeks": OKABE_ITO["bluish green"],
                "as_needed": OKABE_ITO["reddish purple"]}  # colour-blind safe (style.py)


LIMIT = "#7f8c8d"


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
                                 fillcolor=rgba(colour, 0.15), hoverinfo="skip",
                                 legendgroup=plan))
        fig.add_trace(go.Scatter(x=curve["day"], y=curve["survival"], name=name,
                                 line={"color": colour, "width": 2}, line_shape="hv",
                                 legendgroup=plan, hovertemplate="day %{x}: %{y:.0%}"))
    fig.add_hline(y=0.5, line={"dash": "dot", "color": LIMIT})
    fig.add_vline(x=7 * RELAPSE_HORIZON_WEEKS, line={"dash": "dot", "color": LIMIT},
                  annotation_text=f"{RELAPSE_HORIZON_WEEKS} weeks")
    fig.update_yaxes(title="still responding", tickformat=".0%", range=[0, 1.02])
    fig.update_xaxes(title="days after the last induction session")
    return layout(fig, title, height=420)


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
    return layout(fig, title, height=340)


def exposure_figure(timeline: pd.DataFrame,
                    thresholds: FollowupThresholds = DEFAULT_THRESHOLDS,
                    title: str = "Cumulative ketamine exposure") -> go.Figure:
    """Cumulative sessions and dose over follow-up: ketamine in mg/kg (with its alert
    threshold), intranasal esketamine in mg (no threshold: none is sourced); each unit in
    its own panel, never added together (no body weight)."""
    panels: list[tuple[str, str, float | None]] = [
        ("cumulative_sessions", "sessions", thresholds.max_total_sessions)]
    given = {name: pd.to_numeric(timeline.get(name, pd.Series(dtype=float)),
                                 errors="coerce").fillna(0).max() > 0
             for name in ("cumulative_mg_per_kg", "cumulative_esketamine_mg")}
    if given["cumulative_mg_per_kg"] or not given["cumulative_esketamine_mg"]:
        panels.append(("cumulative_mg_per_kg", "ketamine mg/kg",
                       thresholds.max_total_mg_per_kg))
    if given["cumulative_esketamine_mg"]:
        panels.append(("cumulative_esketamine_mg", "esketamine mg", None))
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=[p[1] for p in panels])
    maint = timeline[timeline["kind"] == "maintenance"]
    for col, (name, _, limit) in enumerate(panels, start=1):
        fig.add_trace(go.Scatter(x=timeline["day_after_series"], y=timeline[name],
                                 mode="lines", line_shape="hv", name=name.replace("_", " "),
                                 line={"color": "#2471a3"}, showlegend=False),
                      row=1, col=col)
        fig.add_trace(go.Scatter(x=maint["day_after_series"], y=maint[name], mode="markers",
                                 name="maintenance session", marker={"color": "#8e44ad"},
                                 showlegend=col == 1), row=1, col=col)
        if limit is not None:
            fig.add_hline(y=limit, line={"dash": "dash", "color": "#c0392b"}, row=1, col=col,
                          annotation_text=f"alert above {limit:g}")
    fig.update_xaxes(title="days after the series")
    return layout(fig, title, height=340)


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
    return layout(fig, title, height=480)
