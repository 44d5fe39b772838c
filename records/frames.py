"""Whole-table reads as pandas frames in schema dtypes, for models and cohort views.

One SELECT, rows fetched as tuples and turned into typed columns: no ORM objects, so
100,000 patients load in about a second.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from sqlalchemy import (
    ColumnElement,
    DateTime,
    Integer,
    Row,
    Select,
    cast,
    func,
    inspect,
    or_,
    select,
    text,
    type_coerce,
)
from sqlalchemy.orm import Session

from models.clinical.session_monitoring import MONITORING_COLUMNS, MONITORING_FIELDS, TIMES
from models.contract.schema import ID_COLUMN, NAME_COLUMN, feature_names
from records.gaps import prediction_blockers
from records.rows import FEATURE_TYPES, ID_TYPES, SESSION_NULLABLE, SESSION_TYPES, typed_frame
from records.tables.clinical import SESSION_COLUMNS, Patient, TreatmentSession

SESSION_EXTRA_COLUMNS = ("concomitant_medications", "notes", "recorded_at")
SESSION_RECORD_COLUMNS = ("session_at", "carried_forward", "past_plan_confirmed", "phase")
MONITORING_TYPES = {f.name: f.dtype for f in MONITORING_FIELDS}
MOMENTS = ("recorded_at", "session_at", *TIMES)


ID_CHUNK = 5_000  # ids per IN (...) clause: SQLite allows 32,766 bound parameters


def _rows_for(session: Session, stmt: Select, id_column: ColumnElement,
              patient_ids: Sequence[str] | None) -> list[Row]:
    """Every row of ``stmt`` (ordered by patient id), or those of ``patient_ids`` only, read
    in chunks of ``ID_CHUNK`` sorted ids so the order stays that of the statement."""
    if patient_ids is None:
        return list(session.execute(stmt).all())
    wanted = sorted(set(map(str, patient_ids)))
    return [row for start in range(0, len(wanted), ID_CHUNK)
            for row in session.execute(stmt.where(
                id_column.in_(wanted[start:start + ID_CHUNK]))).all()]


def patient_columns(session: Session, columns: Sequence[str],
                    patient_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """``patient_id`` and the named feature columns of every patient (or of ``patient_ids``):
    for the store-wide summaries that need two columns of 100,000 patients, not every
    feature (issue 31: the session alerts before the cohort table exists)."""
    table = Patient.__table__
    names = [ID_COLUMN, *columns]
    stmt = select(*[table.c[name] for name in names]).order_by(table.c.patient_id)
    rows = _rows_for(session, stmt, table.c.patient_id, patient_ids)
    return typed_frame(names, [tuple(row) for row in rows], {**ID_TYPES, **FEATURE_TYPES})


def patients_frame(session: Session, *, predictable_only: bool = False,
                   patient_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """Every patient (or those of ``patient_ids``): ``patient_id``, ``name``, each schema
    feature and ``data_gaps``, ordered by patient id.

    ``data_gaps`` (a list per row) names features holding only a placeholder, so services
    can hide predictions for them; ``predictable_only`` drops patients with a gap in a
    model input (for training and cohort statistics, which must not see placeholders).
    """
    table = Patient.__table__
    names = [ID_COLUMN, NAME_COLUMN, *feature_names()]
    stmt = (select(*[table.c[name] for name in names], table.c.data_gaps)
            .order_by(table.c.patient_id))
    rows = _rows_for(session, stmt, table.c.patient_id, patient_ids)
    frame = typed_frame(names, [row[:-1] for row in rows], {**ID_TYPES, **FEATURE_TYPES})
    gaps = [list(row[-1] or []) for row in rows]
    frame["data_gaps"] = pd.Series(gaps, index=frame.index, dtype=object)
    if predictable_only:
        keep = [not prediction_blockers(g) for g in gaps]
        frame = frame[keep].reset_index(drop=True)
    return frame


def patient_keys(session: Session) -> pd.DataFrame:
    """``patient_id``, ``version`` and ``updated_at`` (text) of every patient, by id.

    Every ORM edit raises ``version`` (the optimistic-lock column) and ``updated_at``, so
    the pair tells a cache which rows changed without reading the rows themselves.
    """
    table = Patient.__table__
    rows = session.execute(select(table.c.patient_id, table.c.version, table.c.updated_at)
                           .order_by(table.c.patient_id)).all()
    return pd.DataFrame({ID_COLUMN: [str(r[0]) for r in rows],
                         "version": [int(r[1] or 0) for r in rows],
                         "updated_at": [str(r[2]) for r in rows]})


def _search(text: str) -> ColumnElement[bool] | None:
    """Patients whose id or name contains ``text`` (lower case), as ``LIKE`` in the store
    (``%`` and ``_`` in the text match themselves); None: no search."""
    if not text:
        return None
    table = Patient.__table__
    return or_(func.lower(table.c.patient_id).contains(text, autoescape=True),
               func.lower(table.c.name).contains(text, autoescape=True))


def matching_count(session: Session, text: str = "") -> int:
    """How many patients match the search ``text`` (lower case; "" : every patient)."""
    stmt = select(func.count()).select_from(Patient.__table__)
    where = _search(text)
    return int(session.execute(stmt if where is None else stmt.where(where)).scalar() or 0)


def matching_ids(session: Session, text: str = "", *, offset: int = 0,
                 limit: int | None = None, among: Sequence[str] | None = None) -> list[str]:
    """Ids of the patients matching ``text``, in id order: rows ``offset`` to
    ``offset + limit`` of that list, or those of ``among`` that exist and match. A page of
    a list is read without reading the store (issue 31: 100,000 names took a second)."""
    table = Patient.__table__
    stmt = select(table.c.patient_id).order_by(table.c.patient_id)
    where = _search(text)
    if where is not None:
        stmt = stmt.where(where)
    if among is not None:
        stmt = stmt.where(table.c.patient_id.in_(sorted(set(map(str, among)))))
    stmt = stmt.offset(offset) if offset else stmt
    stmt = stmt if limit is None else stmt.limit(limit)
    return [str(pid) for pid in session.execute(stmt).scalars()]


def store_fingerprint(session: Session) -> str:
    """Patients' count, newest edit, sum of row versions and the schema revision: changes
    with every ORM add, edit or removal, and with every migration (a cache key)."""
    table = Patient.__table__
    count, newest, versions = session.execute(select(
        func.count(), func.max(table.c.updated_at), func.sum(table.c.version))).one()
    revision = (session.execute(text("SELECT version_num FROM alembic_version")).scalar()
                if inspect(session.get_bind()).has_table("alembic_version") else None)
    return f"{int(count)}|{newest}|{int(versions or 0)}|{revision}"


def session_count(session: Session) -> int:
    """How many dosing sessions the store holds (without reading them)."""
    return int(session.scalar(select(func.count()).select_from(TreatmentSession)) or 0)


def sessions_frame(session: Session, patient_id: str | None = None, *,
                   patient_ids: Sequence[str] | None = None,
                   latest_only: bool = False) -> pd.DataFrame:
    """Sessions (all, one patient's or those of ``patient_ids``; with ``latest_only`` each
    patient's highest-numbered session alone) with the ``SESSION_FIELDS`` columns and notes.

    Ordered by patient and session number; ``recorded_at`` (when it was typed in) and
    ``session_at`` (when it took place; NaT = not recorded) are aware UTC timestamps;
    ``carried_forward`` ({field: source}) and ``past_plan_confirmed`` are None when not
    recorded (see ``models.clinical.session_record``). The monitoring record follows
    (``models.clinical.session_monitoring``): numbers as float64 with NaN, yes/no as
    None/True/False,
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
    if latest_only:
        latest = (select(sessions.c.patient_pk, func.max(sessions.c.session_number)
                         .label("latest")).group_by(sessions.c.patient_pk).subquery())
        stmt = stmt.join(latest, (latest.c.patient_pk == sessions.c.patient_pk)
                         & (latest.c.latest == sessions.c.session_number))
    rows = _rows_for(session, stmt, patients.c.patient_id, patient_ids)
    frame = typed_frame(names, rows, {**SESSION_TYPES, **ID_TYPES, **MONITORING_TYPES},
                        nullable=SESSION_NULLABLE | set(MONITORING_TYPES))
    for moment in MOMENTS:
        frame[moment] = pd.to_datetime(frame[moment], utc=True)
    return frame


def series_progress(session: Session) -> pd.DataFrame:
    """Per patient with sessions: ``session_number`` (the highest attended) and
    ``dropout_after`` (stopped at any session), counted by the store."""
    patients, sessions = Patient.__table__, TreatmentSession.__table__
    rows = session.execute(
        select(patients.c.patient_id, func.max(sessions.c.session_number),
               func.max(cast(sessions.c.dropout_after, Integer)))
        .join_from(sessions, patients, sessions.c.patient_pk == patients.c.id)
        .group_by(patients.c.patient_id).order_by(patients.c.patient_id)).all()
    return pd.DataFrame({ID_COLUMN: [str(r[0]) for r in rows],
                         "session_number": [int(r[1]) for r in rows],
                         "dropout_after": [bool(r[2]) for r in rows]})


def maintenance_patients(session: Session) -> list[str]:
    """Ids of patients with at least one session of phase maintenance."""
    patients, sessions = Patient.__table__, TreatmentSession.__table__
    return [str(pid) for pid in session.scalars(
        select(patients.c.patient_id).distinct()
        .join_from(sessions, patients, sessions.c.patient_pk == patients.c.id)
        .where(sessions.c.phase == "maintenance"))]
