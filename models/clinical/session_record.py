"""What a session record says beyond its measurements: when it happened, what was copied
from an earlier record, and whether it was recorded past the planned number of sessions.

These are kept out of ``models.contract.schema.SESSION_FIELDS`` (the measurements the generator
writes and the models learn from) but validated here, in the model layer, so the form, the
store and a CSV import give the same answer:

- ``session_at``: the date and time the clinician entered, in the clinic's zone, stored as
  UTC. Required for a session recorded on a form. In a CSV it is optional: a row without it
  (or a file without the column) is stored with an unknown time (NULL, shown as "date not
  recorded"), never an invented one. A value without an offset is read in the clinic zone.
- ``carried_forward``: ``{field: source}`` for values the clinician copied on purpose with an
  explicit action (only ``CARRY_FIELDS``: planned dose and route); NULL for records made
  before this was stored.
- ``past_plan_confirmed``: True when the session number is above the planned number of
  sessions and the clinician confirmed it, False within the plan, NULL when not asked
  (records made before this was stored, and imports).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone, tzinfo

import numpy as np
import pandas as pd

from models.contract.input_errors import RowError

SESSION_TIME = "session_at"
CARRIED_FORWARD = "carried_forward"
PAST_PLAN = "past_plan_confirmed"
CARRY_FIELDS = ("dose_mg_per_kg", "esketamine_dose_mg", "route")
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)
FUTURE_SLACK = timedelta(minutes=10)  # clocks differ a little between a PC and the server
ALLOWED_TIME = ("a date and time such as 2026-11-25 14:05 (clinic time) or "
                "2026-11-25T13:05Z (with an offset)")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_session_time(text: str, zone: tzinfo) -> datetime:
    """An entered or imported date-time as aware UTC; ``ValueError`` says what is allowed."""
    value = text.strip()
    if _DATE_ONLY.match(value):
        raise ValueError(f"{value!r} has a date but no time; expected {ALLOWED_TIME}")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(f"{value!r} is not a date and time; expected {ALLOWED_TIME}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(timezone.utc)


def time_problem(moment: datetime, now: datetime | None = None) -> str | None:
    """Why ``moment`` cannot be a session's time (None when it can)."""
    now = now or datetime.now(timezone.utc)
    if moment.tzinfo is None:
        return "the session time has no time zone"
    if moment < EARLIEST:
        return f"{moment:%Y-%m-%d} is before 2000; enter when the session took place"
    if moment > now + FUTURE_SLACK:
        return "the session time is in the future; enter when the session took place"
    return None


def validate_session_times(values: Iterable[object], lines: Iterable[int], zone: tzinfo,
                           now: datetime | None = None) -> tuple[list[datetime | None],
                                                                 list[RowError]]:
    """A ``session_at`` column: each cell as aware UTC (None when empty), and its problems."""
    out: list[datetime | None] = []
    errors: list[RowError] = []
    for value, line in zip(values, lines, strict=True):
        moment: datetime | None = None
        if _empty(value):
            pass  # unknown: stays None
        elif isinstance(value, datetime):
            moment = value if value.tzinfo else value.replace(tzinfo=zone)
            moment = moment.astimezone(timezone.utc)
        elif isinstance(value, str):
            try:
                moment = parse_session_time(value, zone)
            except ValueError as error:
                errors.append(RowError(int(line), SESSION_TIME, str(error)))
        else:
            errors.append(RowError(int(line), SESSION_TIME,
                                   f"{value!r} is not a date and time; expected {ALLOWED_TIME}"))
        if moment is not None and (problem := time_problem(moment, now)):
            errors.append(RowError(int(line), SESSION_TIME, problem))
            moment = None
        out.append(moment)
    return out, errors


def _empty(value: object) -> bool:
    if value is None or (isinstance(value, str) and not value.strip()):
        return True
    try:
        return bool(pd.isna(value))  # NaN, NaT
    except (TypeError, ValueError):
        return False


def is_past_plan(session_number: int, planned_sessions: int) -> bool:
    """Whether a session number lies beyond the plan (e.g. session 8 of 6 planned)."""
    return int(session_number) > int(planned_sessions)


def past_plan_message(session_number: int, planned_sessions: int) -> str:
    """The confirmation a clinician must give before recording past the plan."""
    return (f"session {session_number} is past the plan ({session_number} of "
            f"{planned_sessions} planned sessions); confirm that it is to be recorded beyond "
            "the plan")


def carried_values(copied: Mapping[str, tuple[object, str]],
                   entered: Mapping[str, object]) -> dict[str, str]:
    """``{field: source}`` for copied values still unchanged when the form was saved.

    ``copied`` is what an explicit "use last session's …" action put in the form, as
    ``{field: (value, source)}``; a value the clinician changed afterwards was entered.
    """
    out: dict[str, str] = {}
    for name, (value, source) in copied.items():
        if name not in CARRY_FIELDS:
            raise ValueError(f"{name} cannot be carried forward (only {', '.join(CARRY_FIELDS)})")
        now = entered.get(name)
        if now is not None and _same(now, value):
            out[name] = source
    return out


def _same(a: object, b: object) -> bool:
    if isinstance(a, (int, float, np.number)) and isinstance(b, (int, float, np.number)):
        return bool(np.isclose(float(a), float(b)))
    return a == b
