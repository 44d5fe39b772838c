"""The "Record a session" form (clinical reference §5): every measurement starts empty.

Nothing is pre-filled from the previous session or from typical values: the clinician
enters this session's values, and saving is refused, under each empty field, until every
required one is entered. Copying the dose and route is an explicit button, what it copied
is shown, and what is still unchanged at saving is stored as carried forward. The date and
time are entered in the clinic's zone (a "now" button fills them on request). The session
number is shown as the next number, never as an input value. A session past the planned
number needs a ticked confirmation, stored with the record; the box appears when a save is
refused for it, never before anything is entered (issue 23 defect 10).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from base.clock import clinic_now, zone_label
from dashboard.services.entry.form_errors import FormErrors
from dashboard.services.entry.rems import monitoring_data, warnings_for
from dashboard.services.entry.writes import save_session
from dashboard.services.patients.progress import CarryOption, NextSession
from dashboard.services.workspace import Workspace
from dashboard.widgets.entry import forms, monitoring_fields
from dashboard.widgets.entry.submission import form_instance, renew
from models.clinical.session_record import EARLIEST, PAST_PLAN, SESSION_TIME
from models.contract.schema import DOSE_FEATURES, SESSION_FIELDS

# minutes_to_discharge follows from the monitoring record's dose and ready times
MEASURED = [f for f in SESSION_FIELDS
            if f.name not in ("patient_id", "session_number", "day", "minutes_to_discharge")]
FLASH_KEY = "pr_flash"
WARN_KEY = "pr_flash_warnings"  # the saved monitoring record's warnings, shown once


def _copy(prefix: str, option: CarryOption) -> None:
    """Put an option's dose and route in the form and remember what was copied."""
    for name, value in option.values.items():  # the dose into the form's one Dose field
        field = forms.DOSE_KEY if name in DOSE_FEATURES else name
        st.session_state[f"{prefix}_{field}"] = value
    st.session_state[f"{prefix}_copied"] = {
        "summary": f"Copied from {option.source}: {option.summary}.",
        "values": {name: (value, option.source) for name, value in option.values.items()}}


def _now(prefix: str) -> None:
    now = clinic_now()
    st.session_state[f"{prefix}_date"] = now.date()
    st.session_state[f"{prefix}_time"] = now.time()


def _actions(prefix: str, nxt: NextSession) -> dict[str, tuple[Any, str]]:
    """The explicit copy and "now" buttons; returns what was copied (field → value, source)."""
    cols = st.columns(len(nxt.carry) + 1)
    for col, option in zip(cols, nxt.carry, strict=False):
        col.button(option.label, key=f"{prefix}_carry_{option.source}", on_click=_copy,
                   args=(prefix, option), icon=":material/content_copy:")
    cols[-1].button("Set date and time to now", key=f"{prefix}_now", on_click=_now,
                    args=(prefix,), icon=":material/schedule:")
    copied = st.session_state.get(f"{prefix}_copied")
    if not copied:
        return {}
    st.info(f"{copied['summary']} Stored as carried forward unless you change them before "
            "saving.", icon=":material/content_copy:")
    return dict(copied["values"])


def number_text(nxt: NextSession) -> str:
    """The next session's number as a fact, not an input (issue 23 defect 10): neutral
    wording, no warning before anything is entered."""
    plan = (f"{nxt.planned} planned" if nxt.planned is not None
            else "planned number not recorded")
    return f"Session {nxt.number} (next; {plan})"


def _when_row(prefix: str, nxt: NextSession) -> tuple[Any, Any, int, Any, dict[str, Any]]:
    zone = zone_label()
    c1, c2, c3, c4 = st.columns(4)
    day = c1.date_input(f"Date ({zone})", value=None, key=f"{prefix}_date",
                        min_value=EARLIEST.date(), max_value=clinic_now().date(),
                        format="YYYY-MM-DD", help="The day the session took place.")
    at = c2.time_input(f"Time ({zone})", value=None, key=f"{prefix}_time", step=60,
                       help="When the session started, clinic time.")
    slots = {SESSION_TIME: c1.empty()}
    c3.markdown(f"**{number_text(nxt)}**", help="The number follows from the sessions "
                "recorded; it is not entered.")
    slots["session_number"] = c3.empty()
    day_index = None
    if nxt.day_from_dates:
        c4.caption("Day since the first session: worked out from the dates.")
    else:
        with c4:
            day_index = forms.session_input(next(f for f in SESSION_FIELDS if f.name == "day"),
                                            None, f"{prefix}_day")
            slots["day"] = st.empty()
    return day, at, int(nxt.number), day_index, slots


def _past_plan(prefix: str) -> tuple[bool, Any]:
    """The confirmation box, shown once a save was refused for being past the plan (the
    store says so): never before anything is entered."""
    asked = st.session_state.get(f"{prefix}_ask_past")
    if not asked:
        return False, st.empty()
    st.error(asked, icon=":material/error:")  # the store refused the save: nothing saved
    confirmed = st.checkbox("Record this session past the planned number of sessions",
                            key=f"{prefix}_past_plan")
    return bool(confirmed), st.empty()


def render(ws: Workspace, patient_id: str, nxt: NextSession, phase: str = "induction") -> None:
    """The form for the next session of ``patient_id`` (``phase`` maintenance: the same
    record after the series, with no past-the-plan question: the plan is the induction's)."""
    maintenance = phase == "maintenance"
    form = form_instance(f"session_{phase}_{patient_id}")
    prefix = form.key(f"{'mt' if maintenance else 'pr'}_{patient_id}_{nxt.number}")
    if maintenance:
        st.markdown("**Record a maintenance session**")
    else:
        st.header("Record a session")
    st.caption("Every field starts empty: enter this session's values (PCL-5, product and "
               "notes may stay empty). Nothing is copied unless you press a button below.")
    copied = _actions(prefix, nxt)
    with st.form(form.key(f"session_form_{patient_id}" + ("_maintenance" if maintenance
                                                            else ""))):
        general = st.empty()
        day, at, number, day_index, slots = _when_row(prefix, nxt)
        values, measured_slots = forms.session_fields(MEASURED, {}, prefix)
        record, record_slots = monitoring_fields.render(prefix)
        confirmed, slots[PAST_PLAN] = (False, st.empty()) if maintenance else _past_plan(prefix)
        notes = st.text_area("Notes (optional)", key=f"{prefix}_notes")
        if st.form_submit_button("Save maintenance session" if maintenance else "Save session",
                                 type="primary"):
            values.update(session_number=number, day=day_index, notes=notes or None)
            try:
                saved = save_session(ws, patient_id, values, day=day, at=at, copied=copied,
                                     confirm_past_plan=confirmed, phase=phase,
                                     monitoring=record, token=form.token)
            except FormErrors as error:
                shown = st.session_state.get(f"{prefix}_ask_past")
                if PAST_PLAN in error.by_field and not shown:
                    st.session_state[f"{prefix}_ask_past"] = error.by_field[PAST_PLAN][0]
                    st.rerun()  # show the confirmation box; the entered values stay
                forms.show_errors(error, {**slots, **measured_slots, **record_slots}, general)
            else:
                st.session_state.pop(f"{prefix}_copied", None)
                renew(form)  # drawn empty; a late second click reaches no button
                st.session_state[FLASH_KEY] = (f"Maintenance session {saved} saved." if
                                               maintenance else f"Session {saved} saved.")
                st.session_state[WARN_KEY] = warnings_for(monitoring_data(record, day))
                st.rerun()

