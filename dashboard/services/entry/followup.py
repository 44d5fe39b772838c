"""Writes of follow-up from the dashboard: visits, plan changes, CSV import (no Streamlit).

Same rules as ``dashboard.services.entry.writes`` for sessions: one unit of work per call (commit
or nothing), only for a role that may see identified data, audited in the same transaction,
and every refusal turned into ``FormErrors`` keyed by field (or an error table naming file,
row and column for an import).
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Mapping
from datetime import date, time
from pathlib import Path
from typing import Any

import pandas as pd

from base.clock import clinic_text
from base.safety import UnsafePathError, safe_path
from dashboard.services.access import record_failure, require
from dashboard.services.entry.form_errors import FormErrors, as_form_errors
from dashboard.services.entry.imports import ImportOutcome, repeated_outcome, upload_digest
from dashboard.services.entry.writes import once, session_moment
from dashboard.services.workspace import Workspace
from models.clinical.followup_record import VISIT_TIME
from models.contract.csv_input import read_csv_strict
from models.contract.validation import InputValidationError, RowError
from records.audit import trail as audit
from records.db import session_factory
from records.errors import RecordError
from records.followup.imports import import_followup
from records.followup.record import add_visit, series_end, set_plan
from records.lookup import require_patient
from records.security.policy import IDENTIFIED
from records.submissions import submit_once

log = logging.getLogger(__name__)
ERROR_COLUMNS = ["file", "row", "column", "problem"]


def _visit_time_errors(day: date | None, at: time | None) -> list[str]:
    if day is None and at is None:
        return ["Enter the date and time of the visit (clinic time)."]
    return ["Enter the date of the visit."] if day is None else (
        ["Enter the time of the visit (clinic time)."] if at is None else [])


def day_from_dates(ws: Workspace, patient_id: str) -> bool:
    """Whether a visit's day after the series can be worked out (the series end is dated)."""
    with session_factory(ws.engine)() as session:
        end = series_end(session, require_patient(session, patient_id))
        return end is not None and end.session_at is not None


def save_visit(ws: Workspace, patient_id: str, values: Mapping[str, Any], *,
               day: date | None, at: time | None, token: str | None = None) -> int:
    """Validate and store one follow-up visit; returns its day after the series.

    ``values``: the scales and screens entered (None = not done), notes, and
    ``day_after_series`` when it cannot be worked out from the dates. Nothing is filled in.
    ``token``: the form's submission token (a repeat stores nothing and returns the first).
    """
    actor = require(ws, IDENTIFIED)
    data = {**values, VISIT_TIME: session_moment(day, at)}
    try:
        with as_form_errors(ws, "followup_create", patient_id), \
                session_factory(ws.engine)() as session:
            def write() -> int:
                visit = add_visit(session, patient_id, data, recorded_by=actor.username)
                audit.record(session, actor, "followup_create", IDENTIFIED,
                             patient_id=patient_id,
                             detail=f"follow-up visit on {clinic_text(visit.visit_at)} "
                                    f"(day {visit.day_after_series} after the series)")
                return int(visit.day_after_series)

            day_after = once(session, actor, token, "followup_visit",
                             {"patient_id": patient_id, **data}, write)
            session.commit()
            return int(day_after)
    except FormErrors as error:
        if VISIT_TIME in error.by_field and _visit_time_errors(day, at):
            error.by_field[VISIT_TIME] = _visit_time_errors(day, at)
        raise


def save_plan(ws: Workspace, patient_id: str, schedule: str | None, *,
              effective_on: date | None, reason: str, token: str | None = None) -> str:
    """Record a maintenance plan or a change of it (schedule, date, reason: all entered);
    once per submission ``token``."""
    actor = require(ws, IDENTIFIED)
    with as_form_errors(ws, "plan_change", patient_id), session_factory(ws.engine)() as session:
        def write() -> str:
            plan = set_plan(session, patient_id, schedule, effective_on=effective_on,
                            reason=reason, recorded_by=actor.username)
            audit.record(session, actor, "plan_change", IDENTIFIED, patient_id=patient_id,
                         detail=f"maintenance plan {plan.schedule} from {plan.effective_on}")
            return str(plan.schedule)

        saved = once(session, actor, token, "plan_change",
                     {"patient_id": patient_id, "schedule": schedule,
                      "effective_on": effective_on, "reason": reason}, write)
        session.commit()
        return str(saved)


def _errors(errors: list[RowError], source: str) -> pd.DataFrame:
    return pd.DataFrame([{"file": source, "row": e.row, "column": e.column or "",
                          "problem": e.message} for e in errors], columns=ERROR_COLUMNS)


def import_followup_csv(ws: Workspace, upload: tuple[str, bytes], *,
                        token: str | None = None) -> ImportOutcome:
    """Import an uploaded follow-up CSV all-or-nothing; ``sessions`` counts visits + doses;
    once per submission ``token`` (a repeat answers with the first import's count)."""
    name, data = upload
    with tempfile.TemporaryDirectory(prefix="kapcds-followup-") as folder:
        try:
            path = safe_path(folder, Path(str(name)).name or "followup.csv")
        except UnsafePathError as error:
            return ImportOutcome(errors=_errors([RowError(None, None, str(error))], "upload"))
        path.write_bytes(data)
        try:
            frame = read_csv_strict(path)
        except InputValidationError as error:
            return ImportOutcome(errors=_errors(error.errors, path.name))
    actor = require(ws, IDENTIFIED)
    def write() -> dict[str, int]:
        audit.record(session, actor, "import", IDENTIFIED,
                     detail=f"{len(frame)} follow-up rows from {name}")  # same commit
        summary = import_followup(session, frame)
        return {"sessions": summary.visits + summary.doses}

    try:
        with session_factory(ws.engine)() as session:
            done = submit_once(session, token, "followup_import", upload_digest(upload),
                               write, username=actor.username)
            session.commit()
    except InputValidationError as error:
        return ImportOutcome(errors=_errors(error.errors, error.source or str(name)))
    except RecordError as error:
        record_failure(ws, "import", IDENTIFIED, None, error)
        return ImportOutcome(errors=_errors([RowError(None, None, str(error))], str(name)))
    if done.repeated:
        return repeated_outcome(done.result)
    log.info("dashboard follow-up import: %d rows", done.result["sessions"])
    return ImportOutcome(sessions=done.result["sessions"])



def plan_now(ws: Workspace, patient_id: str) -> str | None:
    """The maintenance schedule in force (None when no plan was recorded)."""
    from records.followup.record import current_plan

    with session_factory(ws.engine)() as session:
        return current_plan(session, patient_id)
