"""All-or-nothing imports and first-run seeding, with bulk inserts.

Sessions may carry ``session_at`` (when the session took place; ISO 8601, read in the
clinic's zone unless it has an offset). Rows without it, and files without the column, are
stored with an unknown time (NULL, shown as "date not recorded"), never the import time;
``carried_forward`` and ``past_plan_confirmed`` are NULL (not recorded) for imports.

Everything is validated before the first write (``models.contract.validation`` plus the checks
only the store can make: names, ids already stored, session numbers already used), so a
bad file is reported row by row and nothing is written. A database error after that
rolls the whole import back.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine, insert, select, tuple_
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from base.settings import DATA_SAMPLES_DIR
from models.clinical.session_monitoring import MONITORING_FIELDS, TEXT_FIELDS, TIMES
from models.clinical.session_record import SESSION_TIME
from models.contract.csv_input import read_csv_strict
from models.contract.schema import ID_COLUMN, NAME_COLUMN, DType
from models.contract.validation import (
    InputValidationError,
    RowError,
    validate_patients,
    validate_sessions,
)
from records.db import session_factory
from records.errors import RecordError, RecordImportError
from records.rows import FEATURE_TYPES, SESSION_TYPES, check_names, frame_records, line_numbers
from records.rows import raise_errors as _raise
from records.tables.clinical import (
    PLAN_FIELDS,
    SESSION_COLUMNS,
    Patient,
    TreatmentPlan,
    TreatmentSession,
    utcnow,
)
from records.tables.names import name_key

log = logging.getLogger(__name__)
MONITORING_TYPES: dict[str, DType] = {**{f.name: f.dtype for f in MONITORING_FIELDS},
                                      **{name: "category" for name in TEXT_FIELDS}}

_CHUNK = 900  # ids per IN (...) query, under SQLite's bound-parameter limit


@dataclass(frozen=True)
class ImportSummary:
    """What an import wrote."""

    patients: int
    sessions: int


def _chunks(values: list[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start:start + _CHUNK]


def _stored_ids(session: Session, patient_ids: list[str]) -> dict[str, int]:
    """patient_id → primary key for those of ``patient_ids`` already in the store."""
    found: dict[str, int] = {}
    for chunk in _chunks(patient_ids):
        stmt = select(Patient.patient_id, Patient.id).where(Patient.patient_id.in_(chunk))
        found.update(session.execute(stmt).all())
    return found


def _plain(df: pd.DataFrame) -> tuple[pd.DataFrame, list[int]]:
    """The frame without ``attrs`` (pandas deep-copies them on every column access; with
    thousands of line numbers that dominated import time) and its file line numbers."""
    lines = line_numbers(df)
    plain = df.copy(deep=False)
    plain.attrs = {}
    return plain, lines


def _check_new_patients(session: Session, df: pd.DataFrame, lines: list[int]) -> list[RowError]:
    stored = _stored_ids(session, [str(p) for p in df[ID_COLUMN]])
    return [RowError(line, ID_COLUMN, f"patient {pid!r} is already in the store")
            for line, pid in zip(lines, df[ID_COLUMN], strict=True) if pid in stored]


def _check_session_numbers(session: Session, df: pd.DataFrame, lines: list[int],
                           stored: dict[str, int]) -> list[RowError]:
    """Sessions added to stored patients must not reuse a recorded session number."""
    keys = [(stored[pid], int(n)) for pid, n in zip(df[ID_COLUMN], df["session_number"],
                                                     strict=True) if pid in stored]
    taken: set[tuple[int, int]] = set()
    for chunk in _chunks(keys):
        stmt = select(TreatmentSession.patient_pk, TreatmentSession.session_number).where(
            tuple_(TreatmentSession.patient_pk, TreatmentSession.session_number).in_(chunk))
        taken.update(session.execute(stmt).all())
    return [RowError(line, "session_number", f"patient {pid!r} already has session {n}")
            for line, pid, n in zip(lines, df[ID_COLUMN], df["session_number"], strict=True)
            if pid in stored and (stored[pid], int(n)) in taken]


def _insert_patients(session: Session, df: pd.DataFrame, is_synthetic: bool) -> None:
    if df.empty:
        return
    now = utcnow()
    rows = frame_records(df, FEATURE_TYPES)
    for row, pid, name in zip(rows, df[ID_COLUMN], df[NAME_COLUMN], strict=True):
        row.update(patient_id=str(pid), name=str(name).strip(), is_synthetic=is_synthetic,
                   name_key=name_key(str(name)), created_at=now, updated_at=now, version=1)
    session.execute(insert(Patient.__table__), rows)  # Core: one executemany
    plans = [{"patient_pk": None, "created_at": now, **{k: r[k] for k in PLAN_FIELDS}}
             for r in rows]
    pks = _stored_ids(session, [r["patient_id"] for r in rows])
    for plan, row in zip(plans, rows, strict=True):
        plan["patient_pk"] = pks[row["patient_id"]]
    session.execute(insert(TreatmentPlan.__table__), plans)


def _insert_sessions(session: Session, df: pd.DataFrame) -> None:
    if df.empty:
        return
    now = utcnow()
    pks = _stored_ids(session, sorted({str(p) for p in df[ID_COLUMN]}))
    rows = frame_records(df, {k: SESSION_TYPES[k] for k in SESSION_COLUMNS})
    times = df[SESSION_TIME].tolist() if SESSION_TIME in df.columns else [None] * len(rows)
    for row, pid, moment in zip(rows, df[ID_COLUMN], times, strict=True):
        # no session_at in the file: stored as unknown (NULL), never as the import time
        row.update(patient_pk=pks[pid], recorded_at=now, version=1,
                   session_at=None if moment is None or pd.isna(moment)
                   else pd.Timestamp(moment).to_pydatetime())
    _add_monitoring(df, rows)
    session.execute(insert(TreatmentSession.__table__), rows)


def _add_monitoring(df: pd.DataFrame, rows: list[dict[str, Any]]) -> None:
    """The monitoring columns the file has (validated); the others stay NULL (not recorded)."""
    present = {k: v for k, v in MONITORING_TYPES.items() if k in df.columns}
    if present:
        for row, extra in zip(rows, frame_records(df, present), strict=True):
            row.update(extra)
    for name in TIMES:
        if name in df.columns:
            for row, moment in zip(rows, df[name].tolist(), strict=True):
                row[name] = None if moment is None or pd.isna(moment) else pd.Timestamp(
                    moment).to_pydatetime()


def import_patients_and_sessions(session: Session, patients_df: pd.DataFrame,
                                 sessions_df: pd.DataFrame | None = None, *,
                                 is_synthetic: bool = False) -> ImportSummary:
    """Validate and save new patients (and sessions) in one transaction, or nothing at all.

    Sessions may belong to patients in ``patients_df`` or already stored. Raises
    ``InputValidationError`` naming every bad row (nothing written), or
    ``RecordImportError`` if the database refuses (rolled back). Commits on success.
    """
    if session.new or session.dirty or session.deleted:
        raise RecordError("the session has unsaved changes; commit or roll back before an import")
    p_source = patients_df.attrs.get("source", "patients")
    patients, p_lines = _plain(patients_df)
    if len(patients):  # an import may bring only sessions for stored patients
        try:
            patients, _ = _plain(validate_patients(patients_df, source=p_source))
        except InputValidationError as exc:  # report names too, in one go
            _raise(check_names(patients, p_lines) + exc.errors, p_source)
        _raise(check_names(patients, p_lines)
               + _check_new_patients(session, patients, p_lines), p_source)
    empty = pd.DataFrame(columns=[ID_COLUMN, *SESSION_COLUMNS])
    sessions = empty if sessions_df is None else sessions_df
    if len(sessions):
        s_source = sessions.attrs.get("source", "sessions")
        session_ids = sorted({str(p) for p in sessions.get(ID_COLUMN, [])})
        stored = _stored_ids(session, session_ids)
        known = set(stored) | {str(p) for p in patients.get(ID_COLUMN, [])}
        s_lines = line_numbers(sessions)
        sessions, _ = _plain(validate_sessions(sessions, known_patient_ids=known,
                                               source=s_source))
        _raise(_check_session_numbers(session, sessions, s_lines, stored), s_source)
    try:
        _insert_patients(session, patients, is_synthetic)
        _insert_sessions(session, sessions)
        session.commit()
    except SQLAlchemyError as exc:
        session.rollback()
        raise RecordImportError(f"the database refused the import, so nothing was saved: "
                                f"{getattr(exc, 'orig', None) or exc}") from exc
    except BaseException:
        session.rollback()
        raise
    summary = ImportSummary(len(patients), len(sessions))
    log.info("imported %d patients and %d sessions", summary.patients, summary.sessions)
    return summary


def seed_from_samples(engine: Engine, samples_dir: str | Path | None = None) -> int:
    """Fill an EMPTY store from ``patients.csv`` + ``sessions.csv`` (marked synthetic).

    Returns how many patients were added: 0 when the store already has patients (so it is
    safe on every start-up, even from two processes at once). Run migrations first.
    """
    folder = Path(samples_dir) if samples_dir is not None else DATA_SAMPLES_DIR
    with session_factory(engine)() as session:
        if session.scalar(select(Patient.id).limit(1)) is not None:
            log.info("store already has patients; not seeding")
            return 0
        patients = read_csv_strict(folder / "patients.csv")
        sessions_path = folder / "sessions.csv"
        sessions = read_csv_strict(sessions_path) if sessions_path.exists() else None
        try:
            summary = import_patients_and_sessions(session, patients, sessions,
                                                   is_synthetic=True)
        except RecordImportError:
            if session.scalar(select(Patient.id).limit(1)) is not None:
                log.info("another process seeded the store first")
                return 0
            raise
    log.info("seeded %d synthetic patients from %s", summary.patients, folder)
    return summary.patients
