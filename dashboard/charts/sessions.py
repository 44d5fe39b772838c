"""Session figures: PHQ-9 against the expected band, blood pressure, side effects.

Colours from the Okabe-Ito palette with at least 3:1 on white (WCAG 1.4.11), each line also
told apart by its dash and named in the legend or an annotation (issue 30).

Thresholds come from ``models.contract.schema`` and ``models.clinical.session_alerts`` so a line
drawn on a
chart is the number that raises the alert. Pure plotly builders (no Streamlit).
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.charts.style import BAND, DOWN, NEUTRAL, OKABE_ITO, SIDE_EFFECTS, UP, layout
from models.contract.schema import (
    CADSS_SIGNIFICANT,
    POST_DOSE_DBP_ALERT,
    POST_DOSE_SBP_ALERT,
    REMISSION_BELOW,
    RESPONSE_DROP,
)


def phq9_trajectory(sessions: pd.DataFrame, band: pd.DataFrame, baseline: float,
                    title: str = "PHQ-9 against the expected course",
                    reported: pd.DataFrame | None = None) -> go.Figure:
    """Observed PHQ-9 per session over the trajectory model's 10th–90th centile band;
    ``reported`` (x, phq9, answered) adds the patient's own PHQ-9 between sessions."""
    fig = go.Figure()
    x = list(band["session_number"])
    fig.add_trace(go.Scatter(x=x + x[::-1], y=list(band["q90"]) + list(band["q10"])[::-1],
                             fill="toself", fillcolor=BAND, line={"width": 0},
                             name="expected range (10th–90th centile)", hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=x, y=band["q50"], mode="lines", name="expected (median)",
                             line={"dash": "dash", "color": DOWN}))
    observed_x = [0, *sessions["session_number"].tolist()]
    observed_y = [baseline, *sessions["phq9"].tolist()]
    fig.add_trace(go.Scatter(x=observed_x, y=observed_y, mode="lines+markers",
                             name="observed PHQ-9", line={"color": OKABE_ITO["black"]},
                             marker={"size": 8}))
    if reported is not None and len(reported):
        fig.add_trace(go.Scatter(x=reported["x"], y=reported["phq9"], mode="markers",
                                 name="patient-reported PHQ-9 (by link)",
                                 marker={"size": 11, "symbol": "diamond-open",
                                         "color": OKABE_ITO["reddish purple"],
                                         "line": {"width": 2}},
                                 text=reported["answered"],
                                 hovertemplate="patient-reported %{y} · %{text}"
                                               "<extra></extra>"))
    fig.add_hline(y=baseline * (1 - RESPONSE_DROP),
                  line={"dash": "dot", "color": OKABE_ITO["bluish green"]},
                  annotation_text="response (50 % below baseline)",
                  annotation_position="top left")
    fig.add_hline(y=REMISSION_BELOW, line={"dash": "dot", "color": NEUTRAL},
                  annotation_text=f"remission (< {REMISSION_BELOW})",
                  annotation_position="bottom left")
    fig.update_xaxes(title="session (0 = baseline)", dtick=1)
    fig.update_yaxes(title="PHQ-9 (points)", range=[0, 27])
    return layout(fig, title)


def bp_chart(sessions: pd.DataFrame, title: str = "Blood pressure before and ~40 min after "
             "dosing") -> go.Figure:
    """Systolic/diastolic before and after each dose, with the 180/110 alert lines drawn."""
    fig = go.Figure()
    x = sessions["session_number"]
    for column, name, colour, dash in (
            ("sbp_pre", "systolic before", OKABE_ITO["reddish purple"], "dot"),
            ("sbp_post", "systolic after", UP, "solid"),
            ("dbp_pre", "diastolic before", OKABE_ITO["bluish green"], "dot"),
            ("dbp_post", "diastolic after", DOWN, "solid")):
        fig.add_trace(go.Scatter(x=x, y=sessions[column], name=name, mode="lines+markers",
                                 line={"color": colour, "dash": dash}))
    fig.add_hline(y=POST_DOSE_SBP_ALERT, line={"color": UP, "dash": "dash"},
                  annotation_text=f"systolic alert {POST_DOSE_SBP_ALERT} mmHg")
    fig.add_hline(y=POST_DOSE_DBP_ALERT, line={"color": DOWN, "dash": "dash"},
                  annotation_text=f"diastolic alert {POST_DOSE_DBP_ALERT} mmHg")
    fig.update_xaxes(title="session", dtick=1)
    fig.update_yaxes(title="mmHg")
    return layout(fig, title)


def side_effects_chart(sessions: pd.DataFrame,
                       title: str = "Dissociation (CADSS) and side effects") -> go.Figure:
    """CADSS bars with the significance line, and a row of markers per side effect."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.6, 0.4],
                        vertical_spacing=0.08)
    x = sessions["session_number"]
    colours = [UP if v >= CADSS_SIGNIFICANT else DOWN for v in sessions["cadss"]]
    fig.add_trace(go.Bar(x=x, y=sessions["cadss"], marker_color=colours, name="CADSS",
                         showlegend=False), row=1, col=1)
    fig.add_hline(y=CADSS_SIGNIFICANT, line={"dash": "dash", "color": UP}, row=1, col=1,
                  annotation_text=f"significant (≥ {CADSS_SIGNIFICANT})")
    for effect in SIDE_EFFECTS:
        present = sessions[effect].astype(bool)
        fig.add_trace(go.Scatter(x=x[present], y=[effect] * int(present.sum()), mode="markers",
                                 marker={"size": 12, "color": UP, "symbol": "square"},
                                 name=effect, showlegend=False), row=2, col=1)
    fig.update_yaxes(title="CADSS (points)", row=1, col=1)
    fig.update_yaxes(categoryorder="array", categoryarray=list(SIDE_EFFECTS), type="category",
                     range=[-0.5, len(SIDE_EFFECTS) - 0.5], row=2, col=1)
    fig.update_xaxes(title="session", dtick=1, row=2, col=1)
    return layout(fig, title, height=430)
