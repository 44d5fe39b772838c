"""The monitoring part of the "Record a session" form (REMS-style record, clinical-ref. §5).

The structure is shown (what the record asks for, at which check), never a value: every
number, yes/no and time starts empty for this session, and the store refuses the session,
under each empty field, until the required ones are entered.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from base.clock import zone_label
from dashboard.services.entry.rems import TIME_INPUTS
from dashboard.widgets.entry import forms
from models.clinical.session_monitoring import (
    LOT_ROUTES,
    MIN_MONITORING_MINUTES,
    TEXT_FIELDS,
    monitoring_field,
)

ROWS = (
    ("Blood pressure before discharge and pulse oximetry",
     ("sbp_discharge", "dbp_discharge", "spo2_lowest")),
    ("Sedation and dissociation at the set checks (CADSS at ~40 min is above)",
     ("moaas_post", "moaas_discharge", "dissociation_discharge")),
    ("Adverse events", ("respiratory_depression", "serious_adverse_event")),
    ("Concomitant medications taken at this session (REMS classes)",
     ("cm_benzodiazepine", "cm_hypnotic", "cm_psychostimulant", "cm_maoi")),
)


def _times(prefix: str, slots: dict[str, Any]) -> dict[str, Any]:
    zone = zone_label()
    c1, c2 = st.columns(2)
    out = {}
    for col, (column, key), title in zip((c1, c2), TIME_INPUTS.items(),
                                         ("Time of dose", "Ready to leave"), strict=True):
        out[key] = col.time_input(f"{title} ({zone})", value=None, key=f"{prefix}_{key}",
                                  step=60, help="On the session's date, clinic time.")
        slots[column] = col.empty()
    st.caption(f"Monitoring time (dose → ready to leave) is worked out from these two times; "
               f"under {MIN_MONITORING_MINUTES // 60} h is saved with a warning.")
    return out


def _texts(prefix: str, slots: dict[str, Any]) -> dict[str, Any]:
    out = {}
    c1, c2 = st.columns(2)
    routes = ", ".join(r.replace("_", " ") for r in LOT_ROUTES)
    for col, name, note in ((c1, "product", "optional"), (c2, "lot_number",
                                                          f"required for {routes}")):
        with col:
            out[name] = st.text_input(f"{TEXT_FIELDS[name][0]} ({note})", key=f"{prefix}_{name}",
                                      max_chars=TEXT_FIELDS[name][1])
            slots[name] = st.empty()
    out["sae_description"] = st.text_area(
        "Serious adverse event: description (required when there was one)",
        key=f"{prefix}_sae_description", max_chars=TEXT_FIELDS["sae_description"][1])
    slots["sae_description"] = st.empty()
    return out


def render(prefix: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The monitoring inputs (all empty); returns the raw values and the error slots."""
    st.markdown("**Monitoring record (REMS-style)**")
    st.caption("Required for every dosing session: enter this session's values. MOAA/S "
               "sedation: 5 = responds readily to name … 0 = no response to pain.")
    slots: dict[str, Any] = {}
    values = _times(prefix, slots)
    for title, names in ROWS:
        st.caption(title)
        specs = [monitoring_field(name) for name in names]
        row, row_slots = forms.session_fields(specs, {}, f"{prefix}_m", columns=len(specs))
        values.update(row)
        slots.update(row_slots)
    values.update(_texts(prefix, slots))
    return values, slots
