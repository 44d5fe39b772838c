"""Patient questionnaires on the progress page: due / overdue / completed, and new links
(copied, e-mailed or printed as a QR code); the clinic's completion rates on Home."""

from __future__ import annotations

import streamlit as st

from dashboard.charts.proms import reported_scores_chart
from dashboard.services.access import SignedInWorkspace
from dashboard.services.patients import proms
from dashboard.widgets.chart_view import show_chart
from dashboard.widgets.components import plain
from dashboard.widgets.entry.submission import form_instance, renew
from models.clinical.prom_instruments import INSTRUMENTS
from models.clinical.prom_schedule import Schedule


def render_patient(ws: SignedInWorkspace, patient_id: str) -> None:
    """The patient's questionnaire schedule and a form to send links."""
    st.header("Patient questionnaires")
    table, missing = proms.occasions_table(ws.engine, patient_id)
    for reason in missing:
        st.info(plain(f"Not scheduled: {reason}."))
    if len(table):
        st.dataframe(table, hide_index=True, width="stretch")
    else:
        st.caption("No questionnaire occasion yet.")
    scores = proms.reported_scores(ws.engine, patient_id)
    if len(scores):
        show_chart(reported_scores_chart(scores), key=f"proms_scores_{patient_id}")
        st.caption("Answered by the patient at home (not in clinic). After the series they "
                   "are also follow-up visits, so relapse status counts them.")
    _schedule_form(ws, patient_id)
    form = form_instance(f"proms_invite_{patient_id}")  # one set of links per click
    with st.form(form.key(f"proms_invite_{patient_id}")):  # renewed, not cleared on submit
        chosen = st.multiselect("Questionnaires", list(INSTRUMENTS), default=["phq9"],
                                format_func=lambda k: INSTRUMENTS[k].title,
                                key=form.key(f"proms_chosen_{patient_id}"))
        email = st.text_input("Patient's e-mail (optional; empty: copy or print the link)",
                              key=form.key(f"proms_email_{patient_id}"))
        sent = st.form_submit_button("Create link(s)")
    if sent and chosen and ws.actor is not None:
        try:
            made = proms.create_links_once(ws.engine, patient_id, chosen, ws.actor,
                                           email.strip(), form.token)
        except (ValueError, RuntimeError, OSError) as error:
            st.error(plain(f"No link sent: {error}"))
            return
        renew(form)
        if made.repeated:
            st.info(plain(f"These links were already made (link(s) "
                          f"{', '.join(map(str, made.invitation_ids))}) "
                          "and shown when they were made: nothing new was sent."))
        for link, svg in made.links:
            st.write(plain(f"{INSTRUMENTS[link.instrument].title}: valid until "
                           f"{link.expires_at:%Y-%m-%d %H:%M} UTC"
                           + (f", e-mailed to {link.emailed_to}" if link.emailed_to else "")))
            st.code(link.url, language=None)  # has a copy button
            st.download_button("QR code (SVG, to print)", svg, f"questionnaire-"
                               f"{link.instrument}.svg", "image/svg+xml",
                               key=f"qr_{link.invitation_id}")
        st.caption("Each link works once. It is shown only now: the store keeps its hash.")


def render_clinic(ws: SignedInWorkspace) -> None:
    """Due / overdue / completed per enrolled patient, and the clinic's completion rate."""
    table = proms.clinic_table(ws.engine)
    with st.expander(f"Patient questionnaires: completion {proms.clinic_rate(table)}"):
        if len(table):
            st.dataframe(table, hide_index=True, width="stretch")
        else:
            st.caption("No patient has a questionnaire schedule or link yet.")


def _schedule_form(ws: SignedInWorkspace, patient_id: str) -> None:
    """Edit the patient's schedule (the clinic default until saved; audited)."""
    schedule, email, clinician, default = proms.current_schedule(ws.engine, patient_id)
    label = "Questionnaire schedule" + (" (clinic default)" if default else "")
    with st.expander(label), st.form(f"proms_schedule_{patient_id}"):
        chosen = st.multiselect("Questionnaires", list(INSTRUMENTS),
                                default=list(schedule.instruments),
                                format_func=lambda k: INSTRUMENTS[k].title)
        before = st.checkbox("Before each dosing session", value=schedule.before_sessions)
        weekly = st.checkbox("Weekly during induction", value=schedule.weekly_induction)
        weeks = st.text_input("Follow-up weeks after the series",
                              value=", ".join(str(w) for w in schedule.followup_weeks))
        address = st.text_input("Patient's e-mail for links", value=email or "")
        who = st.text_input("Clinician for urgent alerts", value=clinician or "")
        if st.form_submit_button("Save schedule") and ws.actor is not None:
            try:
                proms.save_schedule(ws.engine, patient_id, Schedule(
                    tuple(chosen), before, weekly, proms.parse_weeks(weeks)), ws.actor,
                    address.strip(), who.strip())
            except ValueError as error:
                st.error(plain(str(error)))
            else:
                st.success("Schedule saved.")
