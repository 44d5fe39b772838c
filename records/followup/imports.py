"""All-or-nothing import of follow-up rows, and seeding the shipped sample's follow-up.

A file holds follow-up visits and, with a ``kind`` column, maintenance doses (see
``models.clinical.followup_record``). Every row is checked before the first write, including what
only the store knows (the patient exists; a missing ``day_after_series`` can be worked out
from the last induction session's date), so a bad file is reported row by row and nothing
is written.

Seeding: the sample follow-up (``data_samples/followup.csv`` and ``followup_sessions.csv``)
is copied into the store once, on first start, only for the synthetic sample patients
(``is_synthetic``), marked synthetic and ``source = 'sample'``. After that nothing reads the
CSVs: every follow-up number on screen comes from these tables. The sample's cumulative
columns are not stored: exposure is summed from the stored sessions and doses.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from base.settings import DATA_SAMPLES_DIR, clinic_timezone
from models.clinical.followup_record import (
    MEASURES,
    ROW_COLUMNS,
    VISIT_TIME,
    validate_followup_rows,
)
from models.contract.csv_input import line_numbers, read_csv_strict
from models.contract.input_errors import InputValidationError, RowError
from models.contract.schema import ID_COLUMN
from records.db import session_factory
from records.errors import RecordError, RecordImportError
from records.rows import python_value
from records.tables.clinical import Patient, TreatmentSession, utcnow
from records.tables.followup import FollowupDose, FollowupVisit, MaintenancePlan

log = logging.getLogger(__name__)

SAMPLE_REASON = "synthetic sample: plan assigned at random by the generator"


@dataclass(frozen=True)
class FollowupImportSummary:
    """What a follow-up import wrote."""

    visits: int
    doses: int


def _patients(session: Session, ids: list[str]) -> dict[str, tuple[int, bool]]:
    """patient_id → (primary key, is_synthetic) for the stored ones among ``ids``."""
    stmt = select(Patient.patient_id, Patient.id, Patient.is_synthetic)
    if len(ids) < 900:
        stmt = stmt.where(Patient.patient_id.in_(ids))
    wanted = set(ids)
    return {pid: (pk, bool(synthetic)) for pid, pk, synthetic in session.execute(stmt)
            if pid in wanted}


def _series_end_dates(session: Session, pks: list[int]) -> dict[int, pd.Timestamp]:
    """patient_pk → date (clinic zone) of the last induction session, where recorded."""
    last = (select(TreatmentSession.patient_pk,
                   func.max(TreatmentSession.session_number).label("n"))
            .where(TreatmentSession.phase == "induction").group_by(TreatmentSession.patient_pk)
            .subquery())
    stmt = (select(TreatmentSession.patient_pk, TreatmentSession.session_at)
            .join(last, (last.c.patient_pk == TreatmentSession.patient_pk)
                  & (last.c.n == TreatmentSession.session_number)))
    zone = clinic_timezone()
    wanted = set(pks)
    return {pk: pd.Timestamp(at.astimezone(zone).date()) for pk, at in session.execute(stmt)
            if pk in wanted and at is not None}


def _days(typed: pd.DataFrame, pks: list[int], ends: dict[int, pd.Timestamp],
          lines: list[int]) -> tuple[list[int | None], list[RowError]]:
    """Each row's day after the series: given, or derived from ``visit_at``."""
    zone = clinic_timezone()
    given = typed["day_after_series"] if "day_after_series" in typed else [None] * len(typed)
    times = typed[VISIT_TIME] if VISIT_TIME in typed else [None] * len(typed)
    out: list[int | None] = []
    errors: list[RowError] = []
    for line, pk, day, moment in zip(lines, pks, given, times, strict=True):
        value = python_value(day, "int")
        if moment is not None and not pd.isna(moment) and pk in ends:
            derived = (pd.Timestamp(moment.astimezone(zone).date()) - ends[pk]).days
            if value is not None and value != derived:
                errors.append(RowError(line, "day_after_series", f"{value} does not match "
                                       f"{VISIT_TIME} ({derived} days after the series)"))
            elif derived < 0:
                errors.append(RowError(line, VISIT_TIME, f"{-derived} day(s) before the last "
                                       "induction session; check the date"))
            value = derived
        if value is None:
            errors.append(RowError(line, "day_after_series", "missing value; the days after "
                                   "the last induction session cannot be worked out (no "
                                   f"{VISIT_TIME}, or the session's date is not recorded)"))
        out.append(value)
    return out, errors


def _rows(typed: pd.DataFrame, pks: list[int], days: list[int | None], source: str,
          synthetic: list[bool]) -> tuple[list[dict], list[dict]]:
    now, visits, doses = utcnow(), [], []
    plain = typed.copy(deep=False)
    plain.attrs = {}  # pandas deep-copies attrs on every row access
    for pos, row in enumerate(plain.to_dict("records")):
        moment = row.get(VISIT_TIME)
        moment = None if moment is None or pd.isna(moment) else moment
        common = {"patient_pk": pks[pos], "day_after_series": days[pos], "source": source,
                  "is_synthetic": synthetic[pos], "recorded_at": now}
        if (row.get("kind") or "followup") == "maintenance":
            doses.append({**common, "dose_at": moment, "route": str(row["route"]),
                          "dose_mg_per_kg": python_value(row.get("dose_mg_per_kg"), "float"),
                          "esketamine_dose_mg": python_value(row.get("esketamine_dose_mg"),
                                                             "float")})
            continue
        values = {c: python_value(row.get(c), "bool" if c == "urinary_symptoms" else "int")
                  for c in MEASURES}
        note = row.get("notes")
        values["notes"] = None if note is None or pd.isna(note) or not str(note).strip() \
            else str(note).strip()
        visits.append({**common, **values, "visit_at": moment, "version": 1})
    return visits, doses


def import_followup(session: Session, frame: pd.DataFrame, *, source: str = "csv",
                    synthetic_only: bool = False) -> FollowupImportSummary:
    """Validate and save follow-up rows in one transaction, or nothing at all (commits).

    ``synthetic_only`` (seeding) refuses rows of patients not marked synthetic.
    """
    if session.new or session.dirty or session.deleted:
        raise RecordError("the session has unsaved changes; commit or roll back first")
    where = frame.attrs.get("source", "follow-up rows")
    lines = line_numbers(frame)
    ids = sorted({str(p) for p in frame.get(ID_COLUMN, [])})
    stored = _patients(session, ids)
    typed = validate_followup_rows(frame, known_patient_ids=stored, source=where)
    pks = [stored[str(p)][0] for p in typed[ID_COLUMN]]
    synthetic = [stored[str(p)][1] for p in typed[ID_COLUMN]]
    errors = [RowError(line, ID_COLUMN, f"patient {pid!r} is not a synthetic sample patient")
              for line, pid, s in zip(lines, typed[ID_COLUMN], synthetic, strict=True)
              if synthetic_only and not s]
    days, more = _days(typed, pks, _series_end_dates(session, sorted(set(pks))), lines)
    if errors + more:
        raise InputValidationError(errors + more, where)
    visits, doses = _rows(typed, pks, days, source, synthetic)
    try:
        if visits:
            session.execute(insert(FollowupVisit.__table__), visits)
        if doses:
            session.execute(insert(FollowupDose.__table__), doses)
        session.commit()
    except SQLAlchemyError as exc:
        session.rollback()
        raise RecordImportError(f"the database refused the import, so nothing was saved: "
                                f"{getattr(exc, 'orig', None) or exc}") from exc
    log.info("imported %d follow-up visits and %d maintenance doses", len(visits), len(doses))
    return FollowupImportSummary(len(visits), len(doses))


def _sample_plans(session: Session, folder: Path) -> list[dict]:
    """The sample's plan per synthetic patient (effective date not recorded: NULL)."""
    plans = read_csv_strict(folder / "followup.csv")
    stored = _patients(session, [str(p) for p in plans[ID_COLUMN]])
    now = utcnow()
    return [{"patient_pk": stored[pid][0], "schedule": str(plan), "effective_on": None,
             "reason": SAMPLE_REASON, "recorded_by": None, "source": "sample",
             "is_synthetic": True, "recorded_at": now}
            for pid, plan in zip(plans[ID_COLUMN], plans["maintenance_schedule"], strict=True)
            if pid in stored and stored[pid][1] and isinstance(plan, str) and plan]


def seed_followup(engine: Engine, samples_dir: str | Path | None = None) -> int:
    """Copy the sample follow-up into a store that has none (synthetic patients only).

    Returns the number of visits added (0 when the store already has follow-up, has no
    synthetic patients, or the folder has no follow-up files). Run migrations first.
    """
    folder = Path(samples_dir) if samples_dir is not None else DATA_SAMPLES_DIR
    if not (folder / "followup.csv").is_file() or not (folder / "followup_sessions.csv").is_file():
        return 0
    with session_factory(engine)() as session:
        if any(session.scalar(select(t.id).limit(1)) is not None
               for t in (FollowupVisit, FollowupDose, MaintenancePlan)):
            return 0
        ids = set(session.scalars(select(Patient.patient_id).where(Patient.is_synthetic)))
        if not ids:
            return 0
        rows = read_csv_strict(folder / "followup_sessions.csv")
        keep = rows[ID_COLUMN].astype(str).isin(ids).to_numpy()
        if not keep.any():  # synthetic patients, but none of the sample's: nothing to copy
            return 0
        lines = [line for line, k in zip(line_numbers(rows), keep, strict=True) if k]
        rows = rows.loc[keep, [c for c in rows.columns if c in ROW_COLUMNS]]
        rows.attrs = {"source": "followup_sessions.csv", "line_numbers": lines}
        plans = _sample_plans(session, folder)
        if plans:
            session.execute(insert(MaintenancePlan.__table__), plans)
        summary = import_followup(session, rows, source="sample", synthetic_only=True)
    log.info("seeded %d synthetic follow-up visits, %d maintenance doses, %d plans",
             summary.visits, summary.doses, len(plans))
    return summary.visits
