"""Validation of the follow-up files (``followup.csv``, ``followup_sessions.csv``).

Same engine and messages as ``models.contract.validation`` (row = file line, column, what is
allowed), driven by ``models.contract.followup_schema`` instead of the main schema.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from models.contract.csv_input import line_numbers
from models.contract.followup_schema import FOLLOWUP_FIELDS, FOLLOWUP_PATIENT_FIELDS
from models.contract.schema import ID_COLUMN, SessionField
from models.contract.validation import RowError, _column, _duplicates, _raise_if, _validate


def _check(df: pd.DataFrame, fields: tuple[SessionField, ...], what: str,
           known_patient_ids: Iterable[str] | None, source: str | None,
           unique: list[str] | None = None) -> pd.DataFrame:
    source = source or df.attrs.get("source")
    out, errors = _validate(df, [_column(f) for f in fields])
    lines = line_numbers(df)
    if unique:
        _duplicates(out, unique, lines, " / ".join(unique), errors)
    if known_patient_ids is not None and ID_COLUMN in df.columns:
        known = {str(p) for p in known_patient_ids}
        errors += [RowError(int(lines[pos]), ID_COLUMN, f"unknown patient_id {pid!r} (not "
                            "among the patients)")
                   for pos, pid in enumerate(out[ID_COLUMN]) if pid and pid not in known]
    _raise_if(errors, source, what, len(df))
    for spec in fields:  # empty optional categories (e.g. no plan for a dropout) -> None
        if spec.nullable and spec.dtype == "category" and spec.name in out:
            out[spec.name] = out[spec.name].where(out[spec.name].astype(str) != "", None)
    return out


def validate_followup(df: pd.DataFrame, known_patient_ids: Iterable[str] | None = None,
                      source: str | None = None) -> pd.DataFrame:
    """Check followup.csv rows (one per patient) and return them typed, or raise all."""
    return _check(df, FOLLOWUP_PATIENT_FIELDS, "follow-up", known_patient_ids, source,
                  unique=[ID_COLUMN])


def validate_followup_sessions(df: pd.DataFrame,
                               known_patient_ids: Iterable[str] | None = None,
                               source: str | None = None) -> pd.DataFrame:
    """Check followup_sessions.csv rows (visits, maintenance sessions), typed, or raise."""
    return _check(df, FOLLOWUP_FIELDS, "follow-up session", known_patient_ids, source)
