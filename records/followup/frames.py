"""Follow-up tables read whole as pandas frames (one SELECT each, no ORM objects).

Times come back as aware UTC timestamps (NaT = not recorded) and ``effective_on`` as a
date-time at midnight, so ``records.security.deidentify`` shifts them like every other date.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import DateTime, select, type_coerce
from sqlalchemy.orm import Session

from models.clinical.followup_record import MEASURES
from models.contract.schema import ID_COLUMN
from records.tables.clinical import Patient
from records.tables.followup import FollowupDose, FollowupVisit, MaintenancePlan

VISIT_COLUMNS = ("id", "visit_at", "day_after_series", *MEASURES, "notes", "source",
                 "is_synthetic", "recorded_by", "recorded_at", "version")
DOSE_COLUMNS = ("id", "dose_at", "day_after_series", "route", "dose_mg_per_kg",
                "esketamine_dose_mg", "source",
                "is_synthetic", "recorded_at")
PLAN_COLUMNS = ("id", "schedule", "effective_on", "reason", "recorded_by", "source",
                "is_synthetic", "recorded_at")
_TIMES = ("visit_at", "dose_at", "recorded_at")
_INTS = ("day_after_series", "phq9", "gad7", "craving_score", "moca", "blunting_score")


def _read(session: Session, table: type, names: tuple[str, ...], order: tuple[str, ...],
          patient_id: str | None) -> pd.DataFrame:
    t, patients = table.__table__, Patient.__table__
    columns = [type_coerce(t.c[n], DateTime(timezone=True)) if n in _TIMES else t.c[n]
               for n in names]
    stmt = (select(patients.c.patient_id, *columns)
            .join_from(t, patients, t.c.patient_pk == patients.c.id)
            .order_by(patients.c.patient_id, *[t.c[n] for n in order]))
    if patient_id is not None:
        stmt = stmt.where(patients.c.patient_id == patient_id)
    frame = pd.DataFrame(session.execute(stmt).all(), columns=[ID_COLUMN, *names])
    for name in names:
        if name in _TIMES:
            frame[name] = pd.to_datetime(frame[name], utc=True)
        elif name in _INTS:
            frame[name] = pd.to_numeric(frame[name]).astype("Int64")
    if "urinary_symptoms" in frame:
        frame["urinary_symptoms"] = frame["urinary_symptoms"].astype("boolean")
    return frame


def visits_frame(session: Session, patient_id: str | None = None) -> pd.DataFrame:
    """Follow-up visits (all, or one patient's) by patient and day; NA = not done."""
    return _read(session, FollowupVisit, VISIT_COLUMNS, ("day_after_series", "id"),
                 patient_id)


def doses_frame(session: Session, patient_id: str | None = None) -> pd.DataFrame:
    """Maintenance doses stored without a session record, by patient and day."""
    frame = _read(session, FollowupDose, DOSE_COLUMNS, ("day_after_series", "id"), patient_id)
    for name in ("dose_mg_per_kg", "esketamine_dose_mg"):  # NaN = the other route's unit
        frame[name] = pd.to_numeric(frame[name]).astype(float)
    return frame


def plans_frame(session: Session, patient_id: str | None = None) -> pd.DataFrame:
    """Maintenance plans, oldest first per patient (the last row is the current plan)."""
    frame = _read(session, MaintenancePlan, PLAN_COLUMNS, ("id",), patient_id)
    frame["effective_on"] = pd.to_datetime(frame["effective_on"])
    return frame


def followup_stamp(session: Session) -> tuple[int, ...]:
    """Counts, newest ids and version sums of the follow-up tables and sessions: a cache
    key that changes whenever a visit, dose, plan or session is added or corrected."""
    from sqlalchemy import func

    from records.tables.clinical import TreatmentSession

    out: list[int] = []
    for table in (FollowupVisit, FollowupDose, MaintenancePlan, TreatmentSession):
        t = table.__table__
        version = func.sum(t.c.version) if "version" in t.c else func.count()
        row = session.execute(select(func.count(), func.max(t.c.id), version)
                              .select_from(t)).one()
        out += [int(v or 0) for v in row]
    return tuple(out)


def followup_inputs(session: Session, patient_ids: list[str]) -> pd.DataFrame:
    """The relapse model's follow-up inputs for stored patients in follow-up: current
    ``maintenance_schedule``, ``phq9_end_of_series`` and ``series_completed`` (indexed by
    ``patient_id``; patients without follow-up records are left out, never filled in)."""
    from models.clinical.followup_summary import followup_rows, followup_summary
    from records.frames import patients_frame, sessions_frame

    wanted = set(map(str, patient_ids))
    sessions = sessions_frame(session)
    sessions = sessions[sessions[ID_COLUMN].isin(wanted)]
    visits, doses, plans = visits_frame(session), doses_frame(session), plans_frame(session)
    rows = followup_rows(sessions, visits[visits[ID_COLUMN].isin(wanted)],
                         doses[doses[ID_COLUMN].isin(wanted)])
    patients = patients_frame(session)
    summary = followup_summary(patients[patients[ID_COLUMN].isin(wanted)], sessions, rows,
                               plans[plans[ID_COLUMN].isin(wanted)])
    return summary[["maintenance_schedule", "phq9_end_of_series", "series_completed"]]
