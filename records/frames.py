"""Whole-table reads as pandas frames in schema dtypes, for models and cohort views.

One SELECT, rows fetched as tuples and turned into typed columns: no ORM objects, so
100,000 patients load in about a second.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import DateTime, select, type_coerce
from sqlalchemy.orm import Session

from models.schema import ID_COLUMN, NAME_COLUMN, feature_names
from models.session_monitoring import MONITORING_COLUMNS, MONITORING_FIELDS, TIMES
from records.gaps import prediction_blockers
from records.rows import FEATURE_TYPES, ID_TYPES, SESSION_NULLABLE, SESSION_TYPES, typed_frame
from records.tables import SESSION_COLUMNS, Patient, TreatmentSession

SESSION_EXTRA_COLUMNS = ("concomitant_medications", "notes", "recorded_at")
SESSION_RECORD_COLUMNS = ("session_at", "carried_forward", "past_plan_confirmed", "phase")
MONITORING_TYPES = {f.name: f.dtype for f in MONITORING_FIELDS}
MOMENTS = ("recorded_at", "session_at", *TIMES)


def patients_frame(session: Session, *, predictable_only: bool = False) -> pd.DataFrame:
    """Every patient: ``patient_id``, ``name``, each schema feature and ``data_gaps``.

    ``data_gaps`` (a list per row) names features holding only a placeholder, so services
    can hide predictions for them; ``predictable_only`` drops patients with a gap in a
    model input (for training and cohort statistics, which must not see placeholders).
    """
    table = Patient.__table__
    names = [ID_COLUMN, NAME_COLUMN, *feature_names()]
    stmt = (select(*[table.c[name] for name in names], table.c.data_gaps)
            .order_by(table.c.patient_id))
    rows = session.execute(stmt).all()
    frame = typed_frame(names, [row[:-1] for row in rows], {**ID_TYPES, **FEATURE_TYPES})
    gaps = [list(row[-1] or []) for row in rows]
    frame["data_gaps"] = pd.Series(gaps, index=frame.index, dtype=object)
    if predictable_only:
        keep = [not prediction_blockers(g) for g in gaps]
        frame = frame[keep].reset_index(drop=True)
    return frame


def sessions_frame(session: Session, patient_id: str | None = None) -> pd.DataFrame:
    """Sessions (all, or one patient's) with the ``SESSION_FIELDS`` columns and notes.

    Ordered by patient and session number; ``recorded_at`` (when it was typed in) and
    ``session_at`` (when it took place; NaT = not recorded) are aware UTC timestamps;
    ``carried_forward`` ({field: source}) and ``past_plan_confirmed`` are None when not
    recorded (see ``models.session_record``). The monitoring record follows
    (``models.session_monitoring``): numbers as float64 with NaN, yes/no as None/True/False,
    text as None or str, ``dose_at``/``ready_at`` as UTC timestamps (NaT = not recorded).
    """
    patients, sessions = Patient.__table__, TreatmentSession.__table__
    names = [ID_COLUMN, *SESSION_COLUMNS, *SESSION_EXTRA_COLUMNS, *SESSION_RECORD_COLUMNS,
             *MONITORING_COLUMNS]
    columns = [sessions.c[n] for n in names[1:]]
    for moment in MOMENTS:  # pandas: UTC
        columns[names.index(moment) - 1] = type_coerce(sessions.c[moment],
                                                       DateTime(timezone=True))
    stmt = (select(patients.c.patient_id, *columns)
            .join_from(sessions, patients, sessions.c.patient_pk == patients.c.id)
            .order_by(patients.c.patient_id, sessions.c.session_number))
    if patient_id is not None:
        stmt = stmt.where(patients.c.patient_id == patient_id)
    rows = session.execute(stmt).all()
    frame = typed_frame(names, rows, {**SESSION_TYPES, **ID_TYPES, **MONITORING_TYPES},
                        nullable=SESSION_NULLABLE | set(MONITORING_TYPES))
    for moment in MOMENTS:
        frame[moment] = pd.to_datetime(frame[moment], utc=True)
    return frame
