"""Data side of patient questionnaires on the dashboard (no Streamlit): urgent alerts,
due / overdue / completed lists, completion rates, patient-reported points for the chart,
and creating links (with a QR code) for a patient."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd
from sqlalchemy import Engine, select

from base.clock import clinic_text
from base.proms_settings import urgent_alert_recipients
from interop.notify.urgent import ACTION as PUSH_ACTION
from interop.patient_app.delivery import qr_svg
from interop.patient_app.outbox import Link, invite
from models.clinical.prom_schedule import Schedule, completion_rate
from records.db import session_factory
from records.proms import alerts as store_alerts
from records.proms.schedules import (
    enrolled_patients,
    patient_occasions,
    schedule_for,
    schedule_row,
    set_schedule,
)
from records.proms.submissions import submissions
from records.security.policy import Actor
from records.submissions import submit_once
from records.tables.clinical import utcnow
from records.tables.security import AuditEntry

OCCASION_COLUMNS = ["Questionnaire", "Occasion", "Opens", "Closes", "Status", "Answered"]
LABELS = {"phq9": "PHQ-9", "gad7": "GAD-7", "cssrs": "C-SSRS screener"}


def open_alerts(engine: Engine, patient_id: str | None = None) -> list[store_alerts.AlertRow]:
    """Unacknowledged urgent alerts (all patients, or one), newest first."""
    with session_factory(engine)() as session:
        return store_alerts.alerts(session, patient_id)


# What a clinician did about an urgent alert: one must be chosen (HAZ-180: an alert
# acknowledged to clear the list, with nothing done, is the hazard).
ACK_ACTIONS = (
    "Contacted the patient: suicide risk assessed",
    "Safety plan reviewed with the patient",
    "Referred to crisis or emergency services",
    "Could not reach the patient: escalated to the on-call clinician",
)


def acknowledge(engine: Engine, alert_id: int, actor: Actor, action: str | None,
                note: str | None = None) -> None:
    """Acknowledge one alert with what was done (one of ``ACK_ACTIONS``; audited in the
    store). ValueError when no action is chosen: nothing is acknowledged."""
    if action not in ACK_ACTIONS:
        raise ValueError("choose what was done for this alert before acknowledging it")
    extra = (note or "").strip()
    with session_factory(engine)() as session:
        store_alerts.acknowledge(session, alert_id, actor,
                                 f"{action}" + (f" — {extra}" if extra else ""))


def push_status(engine: Engine, days: int = 7) -> tuple[list[str], list[str]]:
    """Where urgent alerts are e-mailed (empty: nowhere) and the pushes that failed in the
    last ``days`` days, as lines to show (HAZ-009)."""
    try:
        recipients = urgent_alert_recipients()
    except ValueError as error:
        return [], [str(error)]
    since = utcnow() - timedelta(days=days)
    with session_factory(engine)() as session:
        failed = session.execute(
            select(AuditEntry.at, AuditEntry.patient_id, AuditEntry.detail)
            .where(AuditEntry.action == PUSH_ACTION, AuditEntry.outcome == "failure",
                   AuditEntry.at >= since).order_by(AuditEntry.at.desc()).limit(20)).all()
    return recipients, [f"{clinic_text(at)} · {pid}: {detail}" for at, pid, detail in failed]


def alert_line(alert: store_alerts.AlertRow) -> str:
    """One alert as the widget states it (plain text; no Markdown)."""
    to = f" · for {alert.clinician}" if alert.clinician else ""
    return (f"URGENT · {alert.patient_id} · {LABELS.get(alert.instrument, alert.instrument)} "
            f"answered {clinic_text(alert.answered_at)}{to}: {alert.reason}")


def occasions_table(engine: Engine, patient_id: str,
                    today: date | None = None) -> tuple[pd.DataFrame, list[str]]:
    """One patient's scheduled questionnaires with their status, and what is missing."""
    with session_factory(engine)() as session:
        found, missing = patient_occasions(session, patient_id, today)
    rows = [[LABELS.get(o.instrument, o.instrument), o.label, o.opens.isoformat(),
             o.closes.isoformat() if o.closes else "next session", o.status,
             o.answered_on.isoformat() if o.answered_on else ""] for o in found]
    return pd.DataFrame(rows, columns=OCCASION_COLUMNS), missing


def clinic_table(engine: Engine, today: date | None = None) -> pd.DataFrame:
    """Per enrolled patient: due, overdue, completed and the completion rate (%, or NA
    while nothing has closed)."""
    out = []
    with session_factory(engine)() as session:
        for pid in enrolled_patients(session):
            found, _ = patient_occasions(session, pid, today)
            done, closed = completion_rate(found)
            out.append({"Patient": pid,
                        "Due": sum(o.status == "due" for o in found),
                        "Overdue": sum(o.status == "overdue" for o in found),
                        "Completed": done,
                        "Completion rate (%)": round(100 * done / closed) if closed
                        else pd.NA})
    return pd.DataFrame(out, columns=["Patient", "Due", "Overdue", "Completed",
                                      "Completion rate (%)"])


def clinic_rate(table: pd.DataFrame) -> str:
    """The clinic's completion rate over closed occasions, in words."""
    done = int(table["Completed"].sum()) if len(table) else 0
    closed = done + (int(table["Overdue"].sum()) if len(table) else 0)
    if not closed:
        return "no questionnaire occasion has closed yet"
    return f"{round(100 * done / closed)} % ({done} of {closed} closed occasions answered)"


def reported_points(engine: Engine, patient_id: str, sessions: pd.DataFrame) -> pd.DataFrame:
    """Patient-reported PHQ-9 totals answered during the series, placed between the
    sessions they fell between (x = sessions before + 0.5). Later ones are follow-up
    visits and appear in the durability view."""
    with session_factory(engine)() as session:
        rows = [(s.answered_at, s.total) for s in submissions(session, patient_id)
                if s.instrument == "phq9"]
    induction = sessions[sessions["phase"] == "induction"] if "phase" in sessions else sessions
    times = pd.to_datetime(induction.get("session_at"), utc=True) if len(induction) else None
    points = []
    for answered, total in rows:
        if times is None or times.isna().any():
            break  # without session dates the point cannot be placed honestly
        before = int((times <= pd.Timestamp(answered)).sum())
        if before >= len(induction) and len(induction):
            continue  # after the last session: a follow-up visit
        points.append({"x": before + 0.5, "phq9": int(total),
                       "answered": clinic_text(answered)})
    return pd.DataFrame(points, columns=["x", "phq9", "answered"])


def create_links(engine: Engine, patient_id: str, instruments: list[str], actor: Actor,
                 email: str | None) -> list[tuple[Link, str]]:
    """New links (e-mailed when an address is given) with each one's QR code (SVG)."""
    with session_factory(engine)() as session:
        links = invite(session, patient_id, instruments, actor, email=email or None)
    return [(link, qr_svg(link.url)) for link in links]


@dataclass(frozen=True)
class CreatedLinks:
    """Links made by one submission; ``repeated``: the form was already submitted, nothing
    new was made (``invitation_ids`` are the first submission's; their links were shown
    then and cannot be shown again: the store keeps only hashes)."""

    links: list[tuple[Link, str]]
    repeated: bool
    invitation_ids: list[int]


def create_links_once(engine: Engine, patient_id: str, instruments: list[str], actor: Actor,
                      email: str | None, token: str) -> CreatedLinks:
    """``create_links`` at most once per form ``token`` (a double click e-mails once)."""
    made: list[Link] = []
    with session_factory(engine)() as session:
        def write() -> list[int]:
            made.extend(invite(session, patient_id, instruments, actor, email=email or None))
            return [link.invitation_id for link in made]

        done = submit_once(session, token, "prom_invite",
                           {"patient_id": patient_id, "instruments": sorted(instruments),
                            "email": email or ""}, write, username=actor.username)
        session.commit()
    return CreatedLinks([(link, qr_svg(link.url)) for link in made], done.repeated,
                        list(done.result or []))


def current_schedule(engine: Engine, patient_id: str
                     ) -> tuple[Schedule, str | None, str | None, bool]:
    """(schedule in force, e-mail, clinician for alerts, whether it is the clinic default)."""
    with session_factory(engine)() as session:
        row = schedule_row(session, patient_id)
        return (schedule_for(session, patient_id), row.email if row else None,
                row.clinician if row else None, row is None)


def save_schedule(engine: Engine, patient_id: str, schedule: Schedule, actor: Actor,
                  email: str | None, clinician: str | None) -> None:
    """Store the patient's schedule (audited); ValueError names what is wrong."""
    with session_factory(engine)() as session:
        set_schedule(session, patient_id, schedule, actor, email=email or None,
                     clinician=clinician or None)
        session.commit()


def parse_weeks(text: str) -> tuple[int, ...]:
    """"1, 2, 4" → (1, 2, 4); ValueError says what is allowed."""
    try:
        return tuple(int(part) for part in text.replace(" ", "").split(",") if part)
    except ValueError:
        raise ValueError(f"follow-up weeks must be whole numbers separated by commas, not "
                         f"{text!r}") from None


def reported_scores(engine: Engine, patient_id: str) -> pd.DataFrame:
    """PHQ-9 and GAD-7 totals the patient answered by link, oldest first (clinic time;
    the C-SSRS screener has no score to draw and shows as alerts instead)."""
    from base.clock import to_clinic

    with session_factory(engine)() as session:
        rows = [{"answered": to_clinic(s.answered_at).replace(tzinfo=None),
                 "questionnaire": LABELS[s.instrument], "total": int(s.total),
                 "stored as": "follow-up visit" if s.followup_visit_id else "submission"}
                for s in submissions(session, patient_id) if s.instrument in ("phq9", "gad7")]
    return pd.DataFrame(rows, columns=["answered", "questionnaire", "total", "stored as"])
