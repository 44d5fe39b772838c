"""A stored follow-up row (visit or maintenance dose) and relapse status from stored visits.

Form, CSV import and FHIR import give the same answer because they all call
``validate_followup_rows``: file line numbers, the column, and what is allowed. A visit
records at least one measurement or a note; every screen left empty means "not done at this
visit" and is stored as NULL, never as a default. ``relapse_status`` applies the clinical
reference's definition (``RELAPSE_ABOVE``, ``RELAPSE_CONSECUTIVE``) to whatever visits are
stored, the same rule ``training.generator.followup.detect_relapse`` uses to label the sample.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import tzinfo

import numpy as np
import pandas as pd

from base.settings import clinic_timezone
from models.clinical.session_record import validate_session_times
from models.contract.csv_input import line_numbers
from models.contract.doses import dose_problems
from models.contract.followup_schema import (
    RELAPSE_ABOVE,
    RELAPSE_CONSECUTIVE,
    RELAPSE_HORIZON_WEEKS,
    SCREENS,
    followup_field,
)
from models.contract.input_errors import RowError
from models.contract.schema import DOSE_FEATURES, ID_COLUMN, SessionField
from models.contract.validation import _check_ids, _column, _raise_if, _validate

VISIT_TIME = "visit_at"
KINDS = ("followup", "maintenance")
MEASURES = ("phq9", "gad7", *SCREENS)
MAX_DAY = 3650  # ten years of follow-up
ROW_FIELDS: tuple[SessionField, ...] = (
    SessionField(ID_COLUMN, "category", "Patient"),
    SessionField("kind", "category", "Visit", nullable=True, categories=KINDS),
    SessionField("day_after_series", "int", "Day", "days after the last induction session",
                 0, MAX_DAY, nullable=True),
    SessionField("phq9", "int", "PHQ-9", "points", 0, 27, nullable=True),
    SessionField("gad7", "int", "GAD-7", "points", 0, 21, nullable=True),
    *(followup_field(name) for name in SCREENS),
    followup_field("route"),
    followup_field("dose_mg_per_kg"),
    followup_field("esketamine_dose_mg"),
)
ROW_COLUMNS = (*(f.name for f in ROW_FIELDS), VISIT_TIME, "notes")


def _blank(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _row_rules(out: pd.DataFrame, lines: np.ndarray) -> list[RowError]:
    """A visit has a measurement or a note and no dose; a dose has a route and a dose."""
    errors: list[RowError] = []
    plain = out.copy(deep=False)
    plain.attrs = {}  # pandas deep-copies attrs (thousands of line numbers) per row access
    for line, row in zip(lines, plain.to_dict("records"), strict=True):
        line, kind = int(line), row.get("kind") or "followup"
        has = {c for c in (*MEASURES, "notes", "route", *DOSE_FEATURES)
               if c in row and not _blank(row[c])}
        if kind == "maintenance":
            if "route" not in has:
                errors.append(RowError(line, "route", "missing value; a maintenance dose needs "
                                       "its route and dose"))
            errors += [RowError(line, c, "a maintenance dose row carries no scales or screens; "
                                "record them as a follow-up visit")
                       for c in MEASURES if c in has]
            if "route" in has:  # the dose in its route's unit (HAZ-240)
                errors += [RowError(line, name, message) for name, message in dose_problems(
                    row["route"], row.get("dose_mg_per_kg"), row.get("esketamine_dose_mg"))]
        else:
            errors += [RowError(line, c, "a follow-up visit has no dose; use kind maintenance "
                                "for a dose") for c in ("route", *DOSE_FEATURES) if c in has]
            if not has & {*MEASURES, "notes"}:
                errors.append(RowError(line, "phq9", "nothing recorded; enter at least one "
                                       "scale or screen (or a note)"))
    return errors


def validate_followup_rows(df: pd.DataFrame, known_patient_ids: Iterable[str] | None = None,
                           source: str | None = None, zone: tzinfo | None = None
                           ) -> pd.DataFrame:
    """Check follow-up rows (visits and, with ``kind``, maintenance doses); typed, or raise.

    Only ``patient_id`` and one of ``day_after_series`` / ``visit_at`` are required columns;
    every other known column may be left out (= not done). ``visit_at`` comes back as aware
    UTC datetimes (None where empty); values without an offset are read in ``zone``.
    """
    source = source or df.attrs.get("source")
    lines = line_numbers(df)
    unknown = [c for c in df.columns if c not in ROW_COLUMNS]
    errors = [RowError(None, str(c), f"unknown column; follow-up rows have "
                       f"{', '.join(ROW_COLUMNS)}") for c in unknown]
    if not {"day_after_series", VISIT_TIME} & set(df.columns):
        errors.append(RowError(None, "day_after_series", f"required column is missing: give "
                               f"day_after_series or {VISIT_TIME} (or both)"))
    present = [f for f in ROW_FIELDS if f.name in df.columns or f.name == ID_COLUMN]
    out, more = _validate(df.drop(columns=unknown), [_column(f) for f in present])
    errors += more
    _check_ids(out, lines, errors)
    if VISIT_TIME in df.columns:
        times, time_errors = validate_session_times(df[VISIT_TIME].tolist(), lines,
                                                    zone or clinic_timezone())
        out[VISIT_TIME] = pd.Series(times, index=out.index, dtype=object)
        errors += [RowError(e.row, e.column, e.message.replace("session", "visit"))
                   for e in time_errors]
    if known_patient_ids is not None:
        known = {str(p) for p in known_patient_ids}
        errors += [RowError(int(lines[pos]), ID_COLUMN, f"unknown patient_id {pid!r} (not in "
                            "the store)") for pos, pid in enumerate(out.get(ID_COLUMN, []))
                   if isinstance(pid, str) and pid and pid not in known]
    if not any(e.row is None for e in errors):  # columns usable: check every clean row
        flagged = {e.row for e in errors if e.column != ID_COLUMN}
        errors += [e for e in _row_rules(out, lines) if e.row not in flagged]
    _raise_if(errors, source, "follow-up", len(df))
    return out


@dataclass(frozen=True)
class RelapseStatus:
    """Where a patient stands after the series, from the stored visits."""

    responder: bool | None  # None: end-of-series PHQ-9 unknown
    relapse: bool | None  # responders only
    days_to_relapse: int | None  # first of the two visits, else the last visit (censored)
    relapse_8w: bool | None  # None: not a responder, or followed too briefly to say
    followup_weeks: int
    text: str


def visit_week(day_after_series: float) -> int:
    """The follow-up week a visit belongs to (weekly visits drift a few days)."""
    return int(round(float(day_after_series) / 7))


def relapse_status(visits: pd.DataFrame, baseline_phq9: float,
                   end_phq9: float | None) -> RelapseStatus:
    """Relapse by the reference's definition over visits (``day_after_series``, ``phq9``).

    A responder (end-of-series PHQ-9 at most ``RELAPSE_ABOVE`` × baseline) relapses when
    ``RELAPSE_CONSECUTIVE`` consecutive follow-up PHQ-9s after day 0 are above that line.
    """
    rows = visits[visits["phq9"].notna()].sort_values("day_after_series", kind="stable")
    days = rows["day_after_series"].to_numpy(dtype=float)
    weeks = visit_week(days[-1]) if len(days) else 0
    line = float(baseline_phq9) * RELAPSE_ABOVE
    if end_phq9 is None or pd.isna(end_phq9):
        return RelapseStatus(None, None, None, None, weeks, "End-of-series PHQ-9 not recorded")
    if float(end_phq9) > line:
        return RelapseStatus(False, None, None, None, weeks, "Not a responder at the end of the "
                             "series (PHQ-9 not halved): relapse does not apply")
    above = (rows["phq9"].to_numpy(dtype=float) > line) & (days > 0)
    run, first = 0, None
    for pos, flag in enumerate(above):
        run = run + 1 if flag else 0
        if run == RELAPSE_CONSECUTIVE:
            first = pos - RELAPSE_CONSECUTIVE + 1
            break
    if first is not None:
        day = int(days[first])
        hit = visit_week(day) <= RELAPSE_HORIZON_WEEKS
        return RelapseStatus(True, True, day, hit, weeks, f"Relapsed: PHQ-9 above {line:g} on "
                             f"{RELAPSE_CONSECUTIVE} consecutive visits from day {day}")
    last = int(days[-1]) if len(days) else 0
    known = weeks > RELAPSE_HORIZON_WEEKS
    wording = (f"In response: no relapse over {weeks} week(s) of follow-up"
               if len(days) else "Responder: no follow-up PHQ-9 recorded yet")
    if len(days) and above[-1]:
        wording += f" (latest PHQ-9 above {line:g}: one more such visit is a relapse)"
    return RelapseStatus(True, False, last, False if known else None, weeks, wording)
