"""Follow-up entry on Treatment progress: a visit, a maintenance session, a plan change.

The same rules as the session form (``dashboard.widgets.entry.session_form``): every field starts
empty, nothing is copied or defaulted, the date and time are entered in the clinic's zone
(a "now" button fills them on request), and saving is refused, under each field, until what
is required is entered. A scale or screen left empty is stored as "not done". The
maintenance session is the session form itself with phase maintenance.
"""

from __future__ import annotations

import streamlit as st

from base.clock import clinic_now, zone_label
from dashboard.services.entry.followup import day_from_dates, save_plan, save_visit
from dashboard.services.entry.form_errors import FormErrors
from dashboard.services.patients.progress import NextSession
from dashboard.services.workspace import Workspace
from dashboard.widgets.entry import forms, session_form
from dashboard.widgets.entry.submission import form_instance, renew
from models.clinical.followup_record import ROW_FIELDS, VISIT_TIME
from models.clinical.session_record import EARLIEST
from models.contract.followup_schema import MAINTENANCE_SCHEDULES, schedule_label

FLASH_KEY = session_form.FLASH_KEY
VISIT_MEASURES = [f for f in ROW_FIELDS if f.name in ("phq9", "gad7", "craving_score", "moca",
                                                     "blunting_score", "urinary_symptoms")]
DAY_FIELD = next(f for f in ROW_FIELDS if f.name == "day_after_series")


def _now(prefix: str) -> None:
    now = clinic_now()
    st.session_state[f"{prefix}_date"] = now.date()
    st.session_state[f"{prefix}_time"] = now.time()


def render_visit(ws: Workspace, patient_id: str) -> None:
    """The follow-up visit form (PHQ-9, GAD-7 and the long-term screens; each optional)."""
    form = form_instance(f"followup_visit_{patient_id}")
    prefix = form.key(f"fu_{patient_id}")
    st.caption("Every field starts empty; leave a scale or screen empty if it was not done "
               "at this visit (at least one is needed).")
    st.button("Set visit date and time to now", key=f"{prefix}_now", on_click=_now, args=(prefix,),
              icon=":material/schedule:")
    derived = day_from_dates(ws, patient_id)
    with st.form(form.key(f"followup_form_{patient_id}")):
        general = st.empty()
        zone = zone_label()
        c1, c2, c3 = st.columns(3)
        day = c1.date_input(f"Visit date ({zone})", value=None, key=f"{prefix}_date",
                            min_value=EARLIEST.date(), max_value=clinic_now().date(),
                            format="YYYY-MM-DD")
        at = c2.time_input(f"Visit time ({zone})", value=None, key=f"{prefix}_time", step=60)
        slots = {VISIT_TIME: c1.empty()}
        values: dict = {}
        if derived:
            c3.caption("Days after the series: worked out from the dates.")
        else:
            with c3:
                values["day_after_series"] = forms.session_input(DAY_FIELD, None,
                                                                 f"{prefix}_day")
                slots["day_after_series"] = st.empty()
        measured, measured_slots = forms.session_fields(VISIT_MEASURES, {}, prefix, columns=3)
        notes = st.text_area("Notes (optional)", key=f"{prefix}_notes")
        if st.form_submit_button("Save follow-up visit", type="primary"):
            values.update(measured, notes=notes or None)
            try:
                saved = save_visit(ws, patient_id, values, day=day, at=at, token=form.token)
            except FormErrors as error:
                forms.show_errors(error, {**slots, **measured_slots}, general)
            else:
                renew(form)  # drawn empty; a late second click reaches no button
                st.session_state[FLASH_KEY] = (f"Follow-up visit saved (day {saved} after the "
                                               "series).")
                st.rerun()


def render_plan(ws: Workspace, patient_id: str, current: str | None) -> None:
    """Set the maintenance plan or change it (schedule, effective date, reason)."""
    form = form_instance(f"plan_{patient_id}")
    prefix = form.key(f"mp_{patient_id}")
    st.caption("Current plan: " + (schedule_label(current) if current else "none recorded")
               + ". A change keeps the earlier plan in the history and needs a reason.")
    with st.form(form.key(f"plan_form_{patient_id}")):
        general = st.empty()
        c1, c2 = st.columns(2)
        schedule = c1.selectbox("Maintenance plan", list(MAINTENANCE_SCHEDULES), index=None,
                                key=f"{prefix}_schedule", format_func=schedule_label,
                                placeholder="choose")
        slots = {"schedule": c1.empty()}
        effective = c2.date_input(f"Effective from ({zone_label()})", value=None,
                                  key=f"{prefix}_date", format="YYYY-MM-DD")
        slots["effective_on"] = c2.empty()
        reason = st.text_input("Reason" + ("" if current else " (optional for the first plan)"),
                               key=f"{prefix}_reason")
        slots["reason"] = st.empty()
        if st.form_submit_button("Save plan", type="primary"):
            try:
                saved = save_plan(ws, patient_id, schedule, effective_on=effective,
                                  reason=reason, token=form.token)
            except FormErrors as error:
                forms.show_errors(error, slots, general)
            else:
                renew(form)
                st.session_state[FLASH_KEY] = f"Maintenance plan set to {schedule_label(saved)}."
                st.rerun()


def render(ws: Workspace, patient_id: str, nxt: NextSession, attended: int,
           current_plan: str | None) -> None:
    """The follow-up section's three forms (once an induction session is recorded)."""
    st.header("Follow-up after the series")
    if not attended:
        st.info("Follow-up is recorded after the induction series; no session is recorded.")
        return
    visit, maintenance, plan = st.tabs(["Follow-up visit", "Maintenance session",
                                        "Maintenance plan"])
    with visit:
        render_visit(ws, patient_id)
    with maintenance:
        session_form.render(ws, patient_id, nxt, phase="maintenance")
    with plan:
        render_plan(ws, patient_id, current_plan)
