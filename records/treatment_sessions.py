"""Recording and correcting one treatment session (the form path; imports are in ``bulk``).

A session recorded here must say when it took place (``session_at``, entered by the
clinician; never defaulted to now), which values were copied on purpose from an earlier
record (``carried_forward``), and, when its number is above the plan, that the clinician
confirmed recording it past the plan (``past_plan_confirmed``). ``day`` (days since the
first session) is derived from the dates when the first session has one; otherwise it must
be entered. See ``models.clinical.session_record`` for the rules.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from base.settings import clinic_timezone
from models.clinical.session_monitoring import (
    MONITORING_COLUMNS,
    MONITORING_FIELDS,
    TEXT_FIELDS,
    TIMES,
    derived_minutes,
    required_problems,
)
from models.clinical.session_record import (
    ALLOWED_TIME,
    CARRIED_FORWARD,
    CARRY_FIELDS,
    PAST_PLAN,
    SESSION_TIME,
    is_past_plan,
    past_plan_message,
)
from models.contract.schema import ID_COLUMN
from models.contract.validation import InputValidationError, RowError, validate_sessions
from records.errors import DuplicateRecordError, RecordNotFoundError, StaleRecordError
from records.lookup import require_patient
from records.rows import SESSION_TYPES, frame_records, raise_errors
from records.tables.clinical import SESSION_COLUMNS, Patient, TreatmentSession

log = logging.getLogger(__name__)

SESSION_EXTRAS = ("concomitant_medications", "notes")
RECORD_FIELDS = (SESSION_TIME, CARRIED_FORWARD, PAST_PLAN, "phase")
PHASES = ("induction", "maintenance")
_ROW = 2  # a one-row form is "row 2" of a file, as models.contract.validation numbers rows


def _text(value: Any) -> str | None:
    return (str(value).strip() or None) if value is not None else None


def _first_session_time(session: Session, patient: Patient) -> tuple[bool, datetime | None]:
    """(whether the patient has sessions, the lowest-numbered session's time)."""
    first = session.scalars(select(TreatmentSession).where(
        TreatmentSession.patient_pk == patient.id)
        .order_by(TreatmentSession.session_number).limit(1)).one_or_none()
    return first is not None, None if first is None else first.session_at


def derived_day(session: Session, patient: Patient, moment: datetime | None) -> int | None:
    """Days since the first session, from the dates (None when they cannot tell)."""
    if moment is None:
        return None
    has_sessions, first = _first_session_time(session, patient)
    if not has_sessions:
        return 0
    if first is None:
        return None
    zone = clinic_timezone()
    return (moment.astimezone(zone).date() - first.astimezone(zone).date()).days


MONITORING_TYPES = {**{f.name: f.dtype for f in MONITORING_FIELDS},
                    **{name: "category" for name in TEXT_FIELDS}}


def _monitoring_row(typed: pd.DataFrame) -> dict[str, Any]:
    """The typed monitoring values of a one-row frame as plain Python (None = not recorded)."""
    row = frame_records(typed, MONITORING_TYPES)[0]
    row.update({name: typed[name].iloc[0] for name in TIMES})
    return row


def _with_minutes(data: Mapping[str, Any]) -> dict[str, Any]:
    """``minutes_to_discharge`` derived from the dose and ready times when it was empty."""
    out = dict(data)
    minutes = derived_minutes(out)
    if minutes is not None:
        out["minutes_to_discharge"] = minutes
    return out


def _checked(session: Session, patient: Patient, data: Mapping[str, Any], source: str,
             require_monitoring: bool = False) -> tuple[dict[str, Any], datetime]:
    """The measurements and monitoring record typed and the session time, or every problem
    at once. ``require_monitoring``: every REMS-style field must be entered (a form)."""
    values = {k: data.get(k) for k in (*SESSION_COLUMNS, *MONITORING_COLUMNS)}
    moment = data.get(SESSION_TIME)
    errors: list[RowError] = []
    if moment is None:
        errors.append(RowError(_ROW, SESSION_TIME, f"missing value; enter when the session "
                                                   f"took place ({ALLOWED_TIME})"))
    if require_monitoring:
        errors += required_problems(values, values.get("route"), _ROW)
    frame = pd.DataFrame([{**values, SESSION_TIME: moment, ID_COLUMN: patient.patient_id}])
    typed = None
    try:
        typed = validate_sessions(frame, known_patient_ids=[patient.patient_id], source=source)
    except InputValidationError as error:
        given = [values.get(t) is not None for t in TIMES]
        from_times = values.get("minutes_to_discharge") is None and (
            all(given) or require_monitoring)  # the times' own errors say why
        errors += [e for e in error.errors if not (
            from_times and e.column == "minutes_to_discharge")]
    if typed is not None and typed[SESSION_TIME].iloc[0] is not None:
        moment = typed[SESSION_TIME].iloc[0]
    raise_errors(errors, source)
    assert typed is not None and moment is not None
    row = frame_records(typed, {k: SESSION_TYPES[k] for k in SESSION_COLUMNS})[0]
    return {**row, **_monitoring_row(typed)}, moment


def _with_day(session: Session, patient: Patient, data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` with ``day`` derived from the dates when it was left empty and can be."""
    out = dict(data)
    if out.get("day") is None:
        day = derived_day(session, patient, out.get(SESSION_TIME))
        if day is not None and day < 0:
            raise InputValidationError([RowError(_ROW, SESSION_TIME, (
                f"this is {-day} day(s) before the first session; check the date"))],
                f"session of patient {patient.patient_id}")
        out["day"] = day
    return out


def _carried(data: Mapping[str, Any]) -> dict[str, str]:
    carried = dict(data.get(CARRIED_FORWARD) or {})
    wrong = set(carried) - set(CARRY_FIELDS)
    if wrong:
        raise ValueError(f"only {', '.join(CARRY_FIELDS)} can be carried forward, not "
                         f"{', '.join(sorted(wrong))}")
    return {str(k): str(v) for k, v in carried.items()}


def add_session(session: Session, patient_id: str, data: Mapping[str, Any], *,
                require_monitoring: bool = False) -> TreatmentSession:
    """Record one attended session: every ``SESSION_FIELDS`` value, ``session_at`` (aware),
    optionally notes, ``carried_forward``, ``past_plan_confirmed``, ``phase`` and the
    monitoring record (``models.clinical.session_monitoring``; every field required with
    ``require_monitoring``, as the dashboard form does for a new dosing session;
    ``minutes_to_discharge`` is derived from the dose and ready times when left empty).

    ``phase`` is ``induction`` (the default: the series) or ``maintenance`` (after it; the
    planned number of sessions is the induction plan, so no past-plan confirmation is asked,
    and the patient must have an induction series to follow).

    Raises ``InputValidationError`` naming every problem (an empty required field, a time in
    the future, a number past the plan without confirmation) and ``DuplicateRecordError``
    for a session number already used.
    """
    allowed = set(SESSION_COLUMNS) | set(SESSION_EXTRAS) | set(RECORD_FIELDS) | set(
        MONITORING_COLUMNS)
    unknown = set(data) - allowed - {ID_COLUMN}
    if unknown:
        raise ValueError(f"unknown session field(s): {', '.join(sorted(unknown))}")
    patient = require_patient(session, patient_id)
    source = f"session of patient {patient_id}"
    phase = data.get("phase") or "induction"
    if phase not in PHASES:
        raise InputValidationError([RowError(_ROW, "phase", f"choose one of "
                                             f"{', '.join(PHASES)}, not {phase!r}")], source)
    if phase == "maintenance" and not _first_session_time(session, patient)[0]:
        raise InputValidationError([RowError(_ROW, "phase", (
            "no induction session is recorded; a maintenance session follows the series"))],
            source)
    row, moment = _checked(session, patient, _with_minutes(_with_day(session, patient, data)),
                           source, require_monitoring)
    number, planned = int(row["session_number"]), int(patient.planned_sessions)
    plan_known = ("planned_sessions" not in (patient.data_gaps or [])  # else a placeholder
                  and phase == "induction")
    past = plan_known and is_past_plan(number, planned)
    if past and data.get(PAST_PLAN) is not True:
        raise InputValidationError([RowError(_ROW, PAST_PLAN,
                                             past_plan_message(number, planned))], source)
    taken = session.scalar(select(TreatmentSession.id).where(
        TreatmentSession.patient_pk == patient.id, TreatmentSession.session_number == number))
    if taken is not None:
        raise DuplicateRecordError(f"patient {patient_id} already has session {number}")
    record = TreatmentSession(patient=patient, **row, session_at=moment,
                              carried_forward=_carried(data),
                              past_plan_confirmed=past if plan_known else None, phase=phase,
                              **{k: _text(data.get(k)) for k in SESSION_EXTRAS})
    session.add(record)
    session.flush()
    log.info("recorded %s session %s of patient %s%s", phase, number, patient_id,
             f" ({number} of {planned} planned, confirmed)" if past else "")
    return record


def update_session(session: Session, patient_id: str, session_number: int,
                   data: Mapping[str, Any], expected_version: int) -> TreatmentSession:
    """Correct a recorded session, refusing if it changed since ``expected_version``.

    ``session_at`` may be given (e.g. a date that was not recorded before); left out or
    None, the stored time is kept.
    """
    allowed = (set(SESSION_COLUMNS) | set(SESSION_EXTRAS) | set(MONITORING_COLUMNS)
               | {SESSION_TIME}) - {"session_number"}
    unknown = set(data) - allowed
    if unknown:
        raise ValueError(f"these session fields cannot be changed: {', '.join(sorted(unknown))}")
    patient = require_patient(session, patient_id)
    record = session.scalars(select(TreatmentSession).where(
        TreatmentSession.patient_pk == patient.id,
        TreatmentSession.session_number == session_number)
        .execution_options(populate_existing=True)).one_or_none()
    if record is None:
        raise RecordNotFoundError(f"patient {patient_id} has no session {session_number}")
    stale = (f"session {session_number} of patient {patient_id} was changed by someone else "
             f"since you opened it (you had version {expected_version}, the store has version "
             "{}); reload the session, re-apply your changes and save again")
    if record.version != expected_version:
        raise StaleRecordError(stale.format(record.version))
    names = (*SESSION_COLUMNS, *MONITORING_COLUMNS)
    current = {k: getattr(record, k) for k in names}
    moment = data.get(SESSION_TIME) or record.session_at
    frame = pd.DataFrame([{**current, **{k: data[k] for k in data if k in names},
                           SESSION_TIME: moment, ID_COLUMN: patient_id}])
    typed = validate_sessions(frame, known_patient_ids=[patient_id],
                              source=f"session {session_number} of patient {patient_id}")
    row = frame_records(typed, {k: SESSION_TYPES[k] for k in SESSION_COLUMNS})[0]
    row.update(_monitoring_row(typed))
    row[SESSION_TIME] = typed[SESSION_TIME].iloc[0]
    for key, value in row.items():
        if getattr(record, key) != value:
            setattr(record, key, value)
    for key in SESSION_EXTRAS:
        if key in data:
            setattr(record, key, _text(data[key]))
    try:
        session.flush()
    except StaleDataError as exc:
        session.rollback()
        raise StaleRecordError(stale.format("newer")) from exc
    log.info("updated session %s of patient %s to version %s", session_number, patient_id,
             record.version)
    return record
