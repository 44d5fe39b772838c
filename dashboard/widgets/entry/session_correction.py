"""Correcting a recorded session, with the no-lost-update check made visible.

The form is based on the version the clinician opened; if someone saved that session in
the meantime the correction is refused with the store's message, and nothing is lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import streamlit as st

from base.clock import to_clinic, zone_label
from dashboard.services.entry.form_errors import FormErrors, StaleEditError
from dashboard.services.entry.writes import correct_session, load_session_for_edit
from dashboard.services.workspace import Workspace
from dashboard.widgets import components
from dashboard.widgets.entry import forms
from dashboard.widgets.entry.submission import form_instance, renew
from models.clinical.session_record import SESSION_TIME
from models.contract.schema import SESSION_FIELDS

EDITABLE = [f for f in SESSION_FIELDS if f.name not in ("patient_id", "session_number")]


def _when(prefix: str, stored: datetime | None) -> tuple[Any, Any, Any]:
    """Date and time inputs holding the recorded time in clinic time (empty if unknown)."""
    zone = zone_label()
    local = None if stored is None else to_clinic(stored)
    c1, c2, _ = st.columns([1, 1, 2])
    day = c1.date_input(f"Date ({zone})", value=None if local is None else local.date(),
                        key=f"{prefix}_date", format="YYYY-MM-DD")
    at = c2.time_input(f"Time ({zone})", value=None if local is None else local.time(),
                       key=f"{prefix}_time", step=60)
    if local is None:
        st.caption("The date of this session was not recorded; enter it if it is known, or "
                   "leave both empty.")
    return day, at, st.empty()


def render_correction(ws: Workspace, patient_id: str, numbers: Sequence[int]) -> None:
    """An expander to correct one of ``numbers`` (the patient's recorded sessions)."""
    if not numbers:
        return
    with st.expander("Correct a recorded session"):
        number = int(st.selectbox("Session", list(numbers), key=f"sc_{patient_id}_number"))
        stored, current = load_session_for_edit(ws, patient_id, number)
        opened = st.session_state.setdefault("sc_opened", {})
        base = opened.setdefault(f"{patient_id}/{number}", current)
        st.caption(f"Correcting version {base} (stored: version {current}).")
        prefix = f"sc_{patient_id}_{number}_{base}"
        form = form_instance(f"sc_{patient_id}_{number}")
        with st.form(form.key(f"sc_form_{patient_id}_{number}")):
            general = st.empty()
            day, at, time_slot = _when(prefix, stored.get(SESSION_TIME))
            values, slots = forms.session_fields(EDITABLE, stored, prefix)
            slots[SESSION_TIME] = time_slot
            notes = st.text_area("Notes", value=stored.get("notes") or "", key=f"{prefix}_notes")
            if st.form_submit_button("Save correction"):
                try:
                    version = correct_session(ws, patient_id, number,
                                              {**values, "notes": notes}, base, day=day, at=at,
                                              token=form.token)
                except StaleEditError as error:
                    general.error("Not saved: someone else saved this session first. "
                                  f"{components.plain(error)}",
                                  icon=":material/sync_problem:")
                except FormErrors as error:
                    forms.show_errors(error, slots, general)
                else:
                    opened[f"{patient_id}/{number}"] = version
                    renew(form)
                    st.session_state["pr_flash"] = (f"Session {number} corrected (saved as "
                                                    f"version {version}).")
                    st.rerun()
        if current != base and st.button("Reload the stored session",
                                          key=f"sc_reload_{patient_id}_{number}"):
            opened[f"{patient_id}/{number}"] = current
            st.rerun()
