"""Recording follow-up after the induction series: visits, maintenance plans, doses.

Writers flush; the caller commits (with its audit entry, as for sessions). A visit recorded
on a form must say when it took place (``visit_at``, entered; never defaulted to now); its
``day_after_series`` is derived from the dates when the last induction session has one,
otherwise it must be entered. Scales and screens left empty are NULL (= not done). A plan
change is a new row with its effective date, reason and who set it (the history is kept).
Public ``list_*`` functions are what other packages (FHIR export, the PDF) read.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from base.settings import clinic_timezone
from models.clinical.followup_record import MEASURES, VISIT_TIME, validate_followup_rows
from models.contract.followup_schema import MAINTENANCE_SCHEDULES
from models.contract.input_errors import InputValidationError, RowError
from models.contract.schema import ID_COLUMN
from records.errors import RecordNotFoundError, StaleRecordError
from records.lookup import require_patient
from records.rows import python_value
from records.tables.clinical import Patient, TreatmentSession, utcnow
from records.tables.followup import FollowupDose, FollowupVisit, MaintenancePlan

log = logging.getLogger(__name__)

VISIT_FIELDS = (VISIT_TIME, "day_after_series", *MEASURES, "notes")
_ROW = 2  # a one-row form is "row 2" of a file, as models.contract.validation numbers rows
_INT = {"day_after_series", "phq9", "gad7", "craving_score", "moca", "blunting_score"}


def series_end(session: Session, patient: Patient) -> TreatmentSession | None:
    """The patient's last induction session (the end of the series), None without one."""
    return session.scalars(select(TreatmentSession).where(
        TreatmentSession.patient_pk == patient.id, TreatmentSession.phase == "induction")
        .order_by(TreatmentSession.session_number.desc()).limit(1)).one_or_none()


def day_after_series(session: Session, patient: Patient, moment: datetime | None) -> int | None:
    """Days from the last induction session to ``moment`` (None when the dates cannot tell)."""
    end = series_end(session, patient)
    if moment is None or end is None or end.session_at is None:
        return None
    zone = clinic_timezone()
    return (moment.astimezone(zone).date() - end.session_at.astimezone(zone).date()).days


def _value(name: str, value: Any) -> Any:
    if name == "notes":
        return (str(value).strip() or None) if value is not None else None
    if name == "urinary_symptoms":
        return python_value(value, "bool")
    return python_value(value, "int") if name in _INT else value


def checked_visit(session: Session, patient: Patient, data: Mapping[str, Any], *,
                  require_time: bool, source: str, line: int = _ROW) -> dict[str, Any]:
    """One visit's stored values, validated, with the day derived; or every problem."""
    frame = pd.DataFrame([{ID_COLUMN: patient.patient_id, "kind": "followup",
                           **{k: data.get(k) for k in VISIT_FIELDS}}])
    frame.attrs["line_numbers"] = [line]
    errors: list[RowError] = []
    if require_time and data.get(VISIT_TIME) is None:
        errors.append(RowError(line, VISIT_TIME, "missing value; enter when the visit took "
                               "place (date and time, clinic time)"))
    typed = None
    try:
        typed = validate_followup_rows(frame, source=source)
    except InputValidationError as error:
        errors += error.errors
    if errors:
        raise InputValidationError(errors, source)
    assert typed is not None
    row = {k: _value(k, typed[k].iloc[0]) for k in VISIT_FIELDS if k != VISIT_TIME}
    row[VISIT_TIME] = typed[VISIT_TIME].iloc[0]
    derived = day_after_series(session, patient, row[VISIT_TIME])
    if row["day_after_series"] is None:
        row["day_after_series"] = derived
    if row["day_after_series"] is None:
        raise InputValidationError([RowError(line, "day_after_series", (
            "missing value; enter the days since the last induction session (its date is "
            "not recorded, so it cannot be worked out)"))], source)
    if row["day_after_series"] < 0:
        raise InputValidationError([RowError(line, VISIT_TIME, (
            f"this is {-row['day_after_series']} day(s) before the last induction session; "
            "check the date"))], source)
    return row


def add_visit(session: Session, patient_id: str, data: Mapping[str, Any], *,
              recorded_by: str | None = None, source: str = "form",
              require_time: bool = True) -> FollowupVisit:
    """Record one follow-up visit (``VISIT_FIELDS``); ``InputValidationError`` names every
    problem (no time, nothing recorded, a value out of range, a date before the series)."""
    unknown = set(data) - set(VISIT_FIELDS)
    if unknown:
        raise ValueError(f"unknown follow-up field(s): {', '.join(sorted(unknown))}")
    patient = require_patient(session, patient_id)
    row = checked_visit(session, patient, data, require_time=require_time,
                        source=f"follow-up visit of patient {patient_id}")
    visit = FollowupVisit(patient=patient, **row, source=source, recorded_by=recorded_by,
                          is_synthetic=False)
    session.add(visit)
    session.flush()
    log.info("recorded a follow-up visit of patient %s on day %s", patient_id,
             row["day_after_series"])
    return visit


def update_visit(session: Session, patient_id: str, visit_id: int, data: Mapping[str, Any],
                 expected_version: int) -> FollowupVisit:
    """Correct a stored visit, refusing if it changed since ``expected_version``."""
    unknown = set(data) - set(VISIT_FIELDS)
    if unknown:
        raise ValueError(f"unknown follow-up field(s): {', '.join(sorted(unknown))}")
    patient = require_patient(session, patient_id)
    visit = session.scalars(select(FollowupVisit).where(
        FollowupVisit.id == visit_id, FollowupVisit.patient_pk == patient.id)
        .execution_options(populate_existing=True)).one_or_none()
    if visit is None:
        raise RecordNotFoundError(f"patient {patient_id} has no follow-up visit {visit_id}")
    stale = (f"follow-up visit {visit_id} of patient {patient_id} was changed by someone else "
             f"since you opened it (you had version {expected_version}, the store has version "
             "{}); reload it, re-apply your changes and save again")
    if visit.version != expected_version:
        raise StaleRecordError(stale.format(visit.version))
    current = {k: getattr(visit, k) for k in VISIT_FIELDS}
    merged = {**current, **data}
    if "day_after_series" not in data and VISIT_TIME in data:
        merged["day_after_series"] = None  # re-derived from the new date
    row = checked_visit(session, patient, merged, require_time=False,
                        source=f"follow-up visit {visit_id} of patient {patient_id}")
    for key, value in row.items():
        if getattr(visit, key) != value:
            setattr(visit, key, value)
    try:
        session.flush()
    except StaleDataError as exc:
        session.rollback()
        raise StaleRecordError(stale.format("newer")) from exc
    return visit


def list_visits(session: Session, patient_id: str) -> list[FollowupVisit]:
    """One patient's follow-up visits in time order."""
    patient = require_patient(session, patient_id)
    return list(session.scalars(select(FollowupVisit).where(
        FollowupVisit.patient_pk == patient.id)
        .order_by(FollowupVisit.day_after_series, FollowupVisit.id)))


def list_doses(session: Session, patient_id: str) -> list[FollowupDose]:
    """One patient's maintenance doses stored without a session record, in time order."""
    patient = require_patient(session, patient_id)
    return list(session.scalars(select(FollowupDose).where(
        FollowupDose.patient_pk == patient.id)
        .order_by(FollowupDose.day_after_series, FollowupDose.id)))


def list_plans(session: Session, patient_id: str) -> list[MaintenancePlan]:
    """One patient's maintenance plans, oldest first (the last one is current)."""
    patient = require_patient(session, patient_id)
    return list(session.scalars(select(MaintenancePlan).where(
        MaintenancePlan.patient_pk == patient.id).order_by(MaintenancePlan.id)))


def current_plan(session: Session, patient_id: str) -> str | None:
    """The maintenance schedule in force now (None when no plan was ever recorded)."""
    plans = list_plans(session, patient_id)
    return plans[-1].schedule if plans else None


def set_plan(session: Session, patient_id: str, schedule: str | None, *,
             effective_on: date | None, reason: str | None, recorded_by: str | None,
             source: str = "form") -> MaintenancePlan:
    """Record a maintenance plan (or a change of it) from ``effective_on``.

    Nothing is defaulted: the schedule and the effective date must be given, and a change
    of an existing plan needs its reason.
    """
    where = f"maintenance plan of patient {patient_id}"
    patient = require_patient(session, patient_id)
    previous = current_plan(session, patient_id)
    errors: list[RowError] = []
    if schedule not in MAINTENANCE_SCHEDULES:
        errors.append(RowError(_ROW, "schedule", f"choose one of "
                               f"{', '.join(MAINTENANCE_SCHEDULES)}"
                               + ("" if schedule is None else f", not {schedule!r}")))
    if effective_on is None:
        errors.append(RowError(_ROW, "effective_on", "missing value; enter the date the plan "
                               "takes effect"))
    elif effective_on > utcnow().astimezone(clinic_timezone()).date() + pd.Timedelta(days=366):
        errors.append(RowError(_ROW, "effective_on", "more than a year ahead; check the date"))
    text = (reason or "").strip() or None
    if previous is not None and text is None:
        errors.append(RowError(_ROW, "reason", f"missing value; say why the plan changes from "
                               f"{previous}"))
    if errors:
        raise InputValidationError(errors, where)
    plan = MaintenancePlan(patient=patient, schedule=schedule, effective_on=effective_on,
                           reason=text, recorded_by=recorded_by, source=source,
                           is_synthetic=False)
    session.add(plan)
    session.flush()
    log.info("maintenance plan of patient %s: %s -> %s", patient_id, previous, schedule)
    return plan
