"""Writes from the dashboard: patients, sessions, decisions and CSV imports (no Streamlit).

Each function is one unit of work (commit or nothing) and turns the store's and the
validation layer's exceptions into ``FormErrors`` keyed by field, so a page can show each
message next to the field or file row it is about. Each write is allowed only for a role
that may see identified patient data, and is audited in the same transaction (a write the
store refuses is audited as a failure). A form passes its submission ``token``
(``dashboard.widgets.entry.submission``): the store saves one record per token and answers a
repeat with the first one (``records.submissions``), so a double click stores one record.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, time
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from base.clock import clinic_text, from_clinic
from dashboard.services.access import record_failure, require
from dashboard.services.entry.form_errors import FormErrors, SamePersonErrors, as_form_errors
from dashboard.services.entry.imports import ImportOutcome, import_csv  # noqa: F401 (moved)
from dashboard.services.entry.rems import TIME_INPUTS, audit_detail, monitoring_data
from dashboard.services.patients.shown import record_for_patient
from dashboard.services.workspace import Workspace
from interop.notify.urgent import UrgentAlert, push_urgent
from models.clinical.session_alerts import suicide_risk, suicide_risk_message
from models.clinical.session_record import CARRIED_FORWARD, PAST_PLAN, SESSION_TIME, carried_values
from models.contract.schema import ID_COLUMN
from models.contract.validation import InputValidationError, validate_patients
from records.audit import trail as audit
from records.db import session_factory
from records.errors import RecordNotFoundError
from records.person_match import SamePersonOnFileError, refuse_same_name
from records.repository import (
    add_patient,
    add_session,
    get_patient,
    record_decision,
    sessions_for,
    update_patient,
    update_session,
)
from records.rows import check_names
from records.security.policy import IDENTIFIED, Actor
from records.submissions import submit_once
from records.tables.clinical import utcnow

log = logging.getLogger(__name__)


def once(session: Session, actor: Actor, token: str | None, form: str,
         values: Mapping[str, Any], write: Callable[[], Any]) -> Any:
    """``write`` at most once per submission token; a repeat returns the first result."""
    return submit_once(session, token, form, values, write, username=actor.username).result

def session_moment(day: date | None, at: time | None) -> datetime | None:
    """The aware UTC moment of a date and time entered in the clinic's zone (None if either
    is missing: the store then refuses the session, naming the field)."""
    if day is None or at is None:
        return None
    return from_clinic(day, at)


def _time_errors(day: date | None, at: time | None) -> list[str]:
    if day is None and at is None:
        return ["Enter the date and time of the session (clinic time)."]
    if day is None:
        return ["Enter the date of the session."]
    if at is None:
        return ["Enter the time of the session (clinic time)."]
    return []


def save_session(ws: Workspace, patient_id: str, values: Mapping[str, Any], *,
                 day: date | None, at: time | None,
                 copied: Mapping[str, tuple[Any, str]] | None = None,
                 confirm_past_plan: bool = False, phase: str = "induction",
                 monitoring: Mapping[str, Any] | None = None, token: str | None = None) -> int:
    """Validate and store one attended session; returns its session number.

    ``phase`` is ``induction`` or ``maintenance`` (the same record, after the series).

    ``day``/``at`` are the date and wall-clock time the clinician entered (clinic zone).
    ``copied`` is what an explicit "use … dose and route" action put in the form,
    ``{field: (value, source)}``; those still unchanged are stored as carried forward.
    ``monitoring`` is the REMS-style record (``dashboard.services.entry.rems``; the dose and ready
    times as wall-clock times on ``day``): every required field of it must be entered.
    Every empty required field is refused by name (``FormErrors``), nothing is filled in.
    ``token``: the form's submission token (a repeat returns the first session's number).
    """
    actor = require(ws, IDENTIFIED)
    record_data = monitoring_data(monitoring or {}, day)
    data = {**values, **record_data, SESSION_TIME: session_moment(day, at),
            CARRIED_FORWARD: carried_values(copied or {}, values),
            PAST_PLAN: bool(confirm_past_plan), "phase": phase}
    try:
        with as_form_errors(ws, "session_create", patient_id,
                            duplicate_field="session_number"), \
                session_factory(ws.engine)() as session:
            written: list[int] = []  # write() runs only for a new submission

            def write() -> int:
                written.append(1)
                record = add_session(session, patient_id, data, require_monitoring=True)
                when = clinic_text(record.session_at)
                audit.record(session, actor, "session_create", IDENTIFIED,
                             patient_id=patient_id,
                             detail=f"{phase} session {record.session_number} on {when}; "
                                    f"{audit_detail(data)}")
                return int(record.session_number)

            entered = {k: v for k, v in data.items() if k != "session_number"}  # derived,
            number = once(session, actor, token, f"session_{phase}",  # not entered
                          {"patient_id": patient_id, **entered}, write)
            session.commit()
        if written:
            push_session_alert(ws, patient_id, int(number), values)
        return int(number)
    except FormErrors as error:
        if SESSION_TIME in error.by_field and _time_errors(day, at):
            error.by_field[SESSION_TIME] = _time_errors(day, at)
        for column, key in TIME_INPUTS.items():  # a time typed, but no date to put it on
            if day is None and (monitoring or {}).get(key) is not None:
                error.by_field[column] = ["Enter the date of the session: this time is on "
                                          "that date."]
        raise


def push_session_alert(ws: Workspace, patient_id: str, number: int,
                       values: Mapping[str, Any]) -> None:
    """E-mail on-call when the stored session raised the suicide-risk alert (HAZ-009)."""
    item9, cssrs = values.get("phq9_item9"), values.get("cssrs")
    if suicide_risk(item9, cssrs):
        push_urgent(ws.engine, require(ws, IDENTIFIED), UrgentAlert(
            patient_id, f"session {number}", suicide_risk_message(item9, cssrs), utcnow()))


def load_session_for_edit(ws: Workspace, patient_id: str,
                          session_number: int) -> tuple[dict[str, Any], int]:
    """A recorded session's values (and notes) and the version a correction is based on."""
    with session_factory(ws.engine)() as session:
        record = next((r for r in sessions_for(session, patient_id)
                       if r.session_number == session_number), None)
        if record is None:
            raise RecordNotFoundError(f"patient {patient_id} has no session {session_number}")
        values = {c.name: getattr(record, c.name) for c in record.__table__.columns
                  if c.name not in ("id", "patient_pk", "recorded_at", "version")}
        return values, int(record.version)


def correct_session(ws: Workspace, patient_id: str, session_number: int,
                    values: Mapping[str, Any], expected_version: int, *,
                    day: date | None = None, at: time | None = None,
                    token: str | None = None) -> int:
    """Save a correction of a recorded session made on ``expected_version``; new version.

    A date and time (clinic zone) may be entered, e.g. for a session whose date was never
    recorded; left empty, the stored one (or "not recorded") stays. Raises
    ``StaleEditError`` when someone else saved that session first.
    """
    actor = require(ws, IDENTIFIED)
    if (day is None) != (at is None):
        raise FormErrors({SESSION_TIME: _time_errors(day, at)})
    data = {**values, SESSION_TIME: session_moment(day, at)}
    newly_raised: list[dict[str, Any]] = []  # a correction that raises the alert (HAZ-009)
    with as_form_errors(ws, "session_edit", patient_id), session_factory(ws.engine)() as session:
        def write() -> int:
            old = next((r for r in sessions_for(session, patient_id)
                        if r.session_number == session_number), None)
            raised_before = old is not None and suicide_risk(old.phq9_item9, old.cssrs)
            record = update_session(session, patient_id, session_number, data, expected_version)
            if suicide_risk(record.phq9_item9, record.cssrs) and not raised_before:
                newly_raised.append({"phq9_item9": record.phq9_item9, "cssrs": record.cssrs})
            audit.record(session, actor, "session_edit", IDENTIFIED, patient_id=patient_id,
                         detail=f"session {session_number} -> version {record.version}")
            return int(record.version)

        version = once(session, actor, token, "session_edit",
                       {"patient_id": patient_id, "number": session_number,
                        "base": expected_version, **data}, write)
        session.commit()
    for answers in newly_raised:
        push_session_alert(ws, patient_id, session_number, answers)
    return int(version)


def save_decision(ws: Workspace, patient_id: str, *, decision: str | None, suggested: str,
                  reason: str = "", token: str | None = None) -> int:
    """Append a decision under the signed-in user and role (nobody types a name); refused
    (``FormErrors``) when none was chosen, or on ``reason`` if it departs from the
    suggestion unexplained. Returns the decision's id; the decisions table is append-only,
    so ``token`` (the form's submission token) keeps a double click from appending twice."""
    if decision is None:  # the form preselects nothing: a decision is never a default
        raise FormErrors({"decision": ["Choose a decision: proceed, proceed with cautions or "
                                       "do not proceed."]})
    if decision != suggested and not reason.strip():
        raise FormErrors({"reason": ["A reason is required when the decision differs from the "
                                     "suggestion."]})
    actor = require(ws, IDENTIFIED)
    with as_form_errors(ws, "decision", patient_id, audit_every_failure=True), \
            session_factory(ws.engine)() as session:
        def write() -> int:
            record = record_decision(session, patient_id, decision=decision,
                                     suggested=suggested, clinician=actor.username,
                                     role=actor.role, reason=reason, model_version=ws.version)
            audit.record(session, actor, "decision", IDENTIFIED, patient_id=patient_id,
                         detail=f"{decision} (suggested {suggested}; model {ws.version})")
            stored = get_patient(session, patient_id)
            if stored is not None:  # the prediction decided on, for monitoring
                record_for_patient(session, ws.model_set, ws.version, stored, "decision",
                                   actor.username)
            return int(record.id)

        decision_id = once(session, actor, token, "decision",
                           {"patient_id": patient_id, "decision": decision,
                            "suggested": suggested, "reason": reason}, write)
        session.commit()
        return int(decision_id)


def _precheck_patient(values: Mapping[str, Any]) -> None:
    """Collect name and schema problems together (the store stops at the first kind)."""
    frame = pd.DataFrame([{**values, ID_COLUMN: values.get(ID_COLUMN) or "new"}])
    errors = check_names(frame)
    try:
        validate_patients(frame, source="form")
    except InputValidationError as error:
        errors += error.errors
    if errors:
        raise FormErrors.from_validation(InputValidationError(errors, "form"))


def create_patient(ws: Workspace, values: Mapping[str, Any], *, token: str | None = None,
                   different_from: Sequence[str] = ()) -> str:
    """Add a patient (next free id unless one is given); returns the id. ``token``: the
    form's submission token (a repeat returns the first patient's id, adding nobody).

    Raises ``SamePersonErrors`` when a patient with the same name is on file, unless the
    clinician confirmed a different person from each (``different_from``: their ids; two
    tabs typing one person: HAZ-040).
    """
    _precheck_patient(values)
    actor = require(ws, IDENTIFIED)
    with as_form_errors(ws, "patient_create", values.get(ID_COLUMN), duplicate_field=ID_COLUMN), \
            session_factory(ws.engine)() as session:
        def write() -> str:
            refuse_same_name(session, str(values.get("name") or ""),
                             different_from=different_from)
            patient = add_patient(session, dict(values))
            audit.record(session, actor, "patient_create", IDENTIFIED,
                         patient_id=patient.patient_id,
                         detail=("confirmed a different person from "
                                 + ", ".join(different_from)) if different_from else None)
            return patient.patient_id

        try:
            patient_id = once(session, actor, token, "patient_create", values, write)
        except SamePersonOnFileError as error:
            session.rollback()
            record_failure(ws, "patient_create", IDENTIFIED, None, error)
            raise SamePersonErrors(error.matches) from error
        session.commit()
        return str(patient_id)


def load_for_edit(ws: Workspace, patient_id: str) -> tuple[dict[str, Any], int]:
    """The stored name and features of a patient and the version the edit is based on."""
    with session_factory(ws.engine)() as session:
        patient = get_patient(session, patient_id)
        if patient is None:
            raise RecordNotFoundError(f"no patient {patient_id!r} in the store")
        return {"name": patient.name, **patient.features()}, int(patient.version)


def save_patient(ws: Workspace, patient_id: str, values: Mapping[str, Any],
                 expected_version: int, *, token: str | None = None) -> int:
    """Save an edit made on ``expected_version``; returns the new version.

    Raises ``StaleEditError`` when someone else saved first (nothing is overwritten).
    """
    _precheck_patient({ID_COLUMN: patient_id, **values})
    actor = require(ws, IDENTIFIED)
    with as_form_errors(ws, "patient_edit", patient_id), session_factory(ws.engine)() as session:
        def write() -> int:
            patient = update_patient(session, patient_id, dict(values), expected_version)
            audit.record(session, actor, "patient_edit", IDENTIFIED, patient_id=patient_id,
                         detail=f"version {expected_version} -> {patient.version}")
            return int(patient.version)

        version = once(session, actor, token, "patient_edit",
                       {"patient_id": patient_id, "base": expected_version, **values}, write)
        session.commit()
        return int(version)
