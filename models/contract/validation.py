"""The one validation layer for patient and session data (CLI, CSV import, forms).

Every rule comes from ``models.contract.schema``; one generic engine checks any column spec, and it
is lazy: it collects every problem in a file before raising, so a user fixes a file once.
Row numbers are file line numbers (header = line 1, first data row = line 2).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import tzinfo

import numpy as np
import pandas as pd

from base.settings import clinic_timezone
from models.clinical.session_monitoring import (
    MONITORING_FIELDS,
    TEXT_FIELDS,
    TIME_LABELS,
    TIMES,
    consistency_problems,
)
from models.clinical.session_record import SESSION_TIME, validate_session_times
from models.contract import schema
from models.contract.arrow_cells import arrow_codes, arrow_numbers, plain_text
from models.contract.csv_input import line_numbers
from models.contract.dose_rows import dose_errors, with_dose_columns
from models.contract.input_errors import InputValidationError, RowError
from models.contract.schema import (
    ID_COLUMN,
    PATIENT_ID_RULE,
    DType,
    Feature,
    SessionField,
    patient_id_problem,
)

log = logging.getLogger(__name__)

_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


@dataclass(frozen=True)
class _Column:
    """What the engine needs to know about one column, whatever schema object it came from."""

    name: str
    dtype: DType
    allowed: str
    min: float | None = None
    max: float | None = None
    categories: tuple[str, ...] = ()
    nullable: bool = False


def field_allowed_text(spec: Feature | SessionField) -> str:
    """The schema's allowed-values wording for a feature or a session field."""
    if isinstance(spec, Feature):
        return spec.allowed_text()
    if spec.dtype == "category" and not spec.categories:
        text = "a non-empty identifier"
    else:  # reuse Feature.allowed_text so session wording matches patient wording exactly
        text = Feature(spec.name, spec.dtype, spec.label, spec.help, "treatment", 0, spec.unit,
                       spec.min, spec.max, spec.categories).allowed_text()
    return text + (" (may be empty)" if spec.nullable else "")


def _column(spec: Feature | SessionField) -> _Column:
    return _Column(spec.name, spec.dtype, field_allowed_text(spec), spec.min, spec.max,
                   spec.categories, getattr(spec, "nullable", False))


_ID = _Column(ID_COLUMN, "category", PATIENT_ID_RULE)


def _check_ids(out: pd.DataFrame, lines: np.ndarray, errors: list[RowError]) -> None:
    """The patient id rule (``models.contract.identifiers``) on every non-empty id."""
    if ID_COLUMN not in out.columns:
        return
    ids = out[ID_COLUMN].tolist()  # each distinct id checked once (sessions repeat them)
    problems = {value: patient_id_problem(value) for value in set(ids) - {"", None}}
    if not any(problems.values()):
        return
    for pos, value in enumerate(ids):
        problem = problems.get(value)
        if problem:
            errors.append(RowError(int(lines[pos]), ID_COLUMN, problem))


# ---------------------------------------------------------------- the generic engine


def _as_text(values: Iterable[object]) -> list[str]:
    """Cells as stripped strings; None/NaN become "" so typed form input works too."""
    return [v.strip() if isinstance(v, str) else
            "" if v is None or (isinstance(v, float) and v != v) else str(v).strip()
            for v in values]


def _convert(col: _Column, raw: pd.Series, lines: np.ndarray,
             errors: list[RowError]) -> np.ndarray:
    """Check one column lazily (appending to ``errors``) and return its typed values.

    Works on plain arrays rather than pandas Series: a one-row form stays fast. Cells held
    by pyarrow (``read_csv_strict(arrow=True)``) are trimmed and parsed by its kernels, the
    yes/no and category rules run once per distinct cell, and the cells become Python
    strings only for a message.
    """
    numbers = arrow_numbers(raw) if col.dtype in ("int", "float") else None
    coded = arrow_codes(raw) if numbers is None else None
    text: list[str] = []
    if numbers is not None:
        num, empty = numbers
    else:
        # ``distinct`` holds each cell's text once; ``codes`` picks a row's (the identity
        # without pyarrow, where ``distinct`` is every cell).
        codes, distinct = coded if coded is not None else (None, _as_text(plain_text(raw)))
        values = np.array(distinct, dtype=object)
        arr = values if codes is None else values[codes]
        empty = arr == ""

    def report(mask: np.ndarray, message: str) -> None:
        positions = np.flatnonzero(mask)
        if len(positions) and not text:
            text.extend(_as_text(plain_text(raw)))
        for pos in positions:
            errors.append(RowError(int(lines[pos]), col.name,
                                   message.format(v=text[pos], a=col.allowed)))

    def per_row(per_value: np.ndarray) -> np.ndarray:
        return per_value if codes is None else per_value[codes]

    if not col.nullable:
        report(empty, "missing value; expected {a}")
    if col.dtype in ("int", "float"):
        if numbers is None:
            num = pd.to_numeric(np.where(empty, "nan", arr), errors="coerce").astype(float)
        return _checked_numbers(col, num, empty, report)
    if col.dtype == "bool":
        lower = [t.lower() for t in distinct]
        report(~empty & per_row(np.array([t not in _TRUE | _FALSE for t in lower], dtype=bool)),
               "{v!r} is not a yes/no value; expected {a}")
        flags = per_row(np.array([t in _TRUE for t in lower], dtype=bool))
        return flags if not col.nullable else np.where(empty, None, flags)
    if col.categories:
        canonical = {c.lower(): c for c in col.categories}
        mapped = per_row(np.array([canonical.get(t.lower(), t) for t in distinct],
                                  dtype=object))
        report(~empty & per_row(np.array([t.lower() not in canonical for t in distinct],
                                         dtype=bool)),
               "{v!r} is not an allowed value; expected {a}")
        return mapped
    return arr


def _checked_numbers(col: _Column, num: np.ndarray, empty: np.ndarray,
                     report: Callable[[np.ndarray, str], None]) -> np.ndarray:
    """The number rules of one column (finite, whole for ints, in range) on its parsed
    values (NaN where not a number); ints without empty cells come back as int64."""
    bad = ~empty & ~np.isfinite(num)
    report(bad, "{v!r} is not a number; expected {a}")
    ok = ~empty & ~bad
    if col.dtype == "int":
        frac = ok & (np.mod(np.where(ok, num, 0), 1) != 0)
        report(frac, "{v!r} is not a whole number; expected {a}")
        ok &= ~frac
    low = -np.inf if col.min is None else col.min
    high = np.inf if col.max is None else col.max
    report(ok & ((num < low) | (num > high)), "{v} is outside the allowed range ({a})")
    if col.dtype == "int" and not col.nullable:  # nullable ints come back as float64
        return np.where(ok, num, 0).astype("int64")
    return num


def _duplicates(out: pd.DataFrame, keys: list[str], lines: np.ndarray, label: str,
                errors: list[RowError]) -> None:
    """Name every row of every duplicated key, since any of them may be the wrong one."""
    if any(k not in out.columns for k in keys):
        return
    flagged = {e.row for e in errors if e.column in keys}
    usable = ~np.isin(lines, list(flagged))
    parts = [out[c].astype(str).to_numpy() for c in keys]
    key = pd.Series([" / ".join(k) for k in zip(*parts, strict=True)])[usable]
    repeated = key[key.duplicated(keep=False)]
    for value, positions in repeated.groupby(repeated).groups.items():
        rows = ", ".join(str(lines[p]) for p in positions)
        for p in positions:
            errors.append(RowError(int(lines[p]), keys[-1],
                                   f"duplicate {label} {value!r} (rows {rows})"))


def _bp_pairs(names: Iterable[str]) -> list[tuple[str, str]]:
    """(systolic, diastolic) column pairs, found from the schema's naming."""
    names = list(names)
    pairs = []
    for name in names:
        for dia, sys_ in (("diastolic", "systolic"), ("dbp", "sbp")):
            if dia in name and name.replace(dia, sys_) in names:
                pairs.append((name.replace(dia, sys_), name))
    return pairs


def _validate(df: pd.DataFrame, columns: list[_Column]) -> tuple[pd.DataFrame, list[RowError]]:
    """Column checks and row plausibility shared by patients and sessions."""
    lines = line_numbers(df)
    if df.columns.has_duplicates:  # pandas cannot index these; report them and stop here
        return df, [RowError(None, str(name), "column name appears more than once")
                    for name in df.columns[df.columns.duplicated()].unique()]
    errors: list[RowError] = []
    present = [c for c in columns if c.name in df.columns]
    errors += [RowError(None, c.name, f"required column is missing ({c.allowed})")
               for c in columns if c.name not in df.columns]
    if len(df) == 0:
        errors.append(RowError(None, None, "no data rows"))
    typed = {c.name: _convert(c, df[c.name], lines, errors) for c in present}
    out = pd.DataFrame({name: typed[name] if name in typed else plain_text(df[name])
                        for name in df.columns}, index=df.index)
    for sys_, dia in _bp_pairs(c.name for c in present):
        bad = (out[dia] >= out[sys_]).to_numpy() & ~np.isin(
            lines, [e.row for e in errors if e.column in (sys_, dia)])
        for pos in np.flatnonzero(bad):
            errors.append(RowError(int(lines[pos]), dia, f"diastolic {out[dia].iloc[pos]:g} "
                                   f"is not below systolic {out[sys_].iloc[pos]:g} ({sys_})"))
    out.attrs = dict(df.attrs)
    return out, errors


def _raise_if(errors: list[RowError], source: str | None, what: str, n: int) -> None:
    if errors:
        exc = InputValidationError(errors, source)
        log.info("%s", exc.summary())
        raise exc
    log.info("validated %d %s rows from %s", n, what, source or "memory")


def validate_patients(df: pd.DataFrame, require_outcomes: bool = False,
                      source: str | None = None) -> pd.DataFrame:
    """Check patient rows against the schema and return them typed, or raise every problem.

    ``source`` (default: the file name recorded by ``read_csv_strict``) prefixes messages.
    """
    source = source or df.attrs.get("source")
    df = with_dose_columns(df)
    columns = [_ID] + [_column(f) for f in schema.FEATURES]
    if require_outcomes:
        columns += [_Column(name, "int", "0 or 1", 0, 1) for name in schema.outcome_names()]
    out, errors = _validate(df, columns)
    lines = line_numbers(df)
    _check_ids(out, lines, errors)
    _duplicates(out, [ID_COLUMN], lines, ID_COLUMN, errors)
    dose_errors(df, out, lines, errors)
    _raise_if(errors, source, "patient", len(df))
    return out


def validate_sessions(df: pd.DataFrame, known_patient_ids: Iterable[str] | None = None,
                      source: str | None = None, zone: tzinfo | None = None) -> pd.DataFrame:
    """Check session rows against ``SESSION_FIELDS`` and return them typed, or raise.

    The monitoring columns (``models.clinical.session_monitoring``) are optional: each one present
    is checked (empty cells = not recorded) and the times must agree with each other and
    with ``minutes_to_discharge``.

    Nullable integer fields (e.g. ``pcl5``) come back as float64 with NaN for empty cells,
    so downstream numpy/LightGBM code needs no special missing-value type. An optional
    ``session_at`` column comes back as aware UTC datetimes (None where empty: unknown);
    values without an offset are read in ``zone`` (default: the clinic's zone).
    """
    source = source or df.attrs.get("source")
    df = with_dose_columns(df)
    out, errors = _validate(df, [_column(f) for f in schema.SESSION_FIELDS])
    lines = line_numbers(df)
    _check_ids(out, lines, errors)
    if SESSION_TIME in df.columns:
        times, time_errors = validate_session_times(df[SESSION_TIME].tolist(), lines,
                                                    zone or clinic_timezone())
        out[SESSION_TIME] = pd.Series(times, index=out.index, dtype=object)
        errors += time_errors
    _monitoring_columns(df, out, lines, zone or clinic_timezone(), errors)
    dose_errors(df, out, lines, errors, limits=False)
    _duplicates(out, [ID_COLUMN, "session_number"], lines, "(patient_id, session_number)",
                errors)
    if known_patient_ids is not None and ID_COLUMN in df.columns:
        known = {str(p) for p in known_patient_ids}
        ids = out[ID_COLUMN].tolist()
        unknown = {pid for pid in set(ids) - known if pid and not patient_id_problem(pid)}
        errors += [RowError(int(lines[pos]), ID_COLUMN,
                            f"unknown patient_id {pid!r} (not among the patients)")
                   for pos, pid in enumerate(ids) if unknown and pid in unknown]
    _raise_if(errors, source, "session", len(df))
    return out


def _monitoring_columns(df: pd.DataFrame, out: pd.DataFrame, lines: np.ndarray, zone: tzinfo,
                        errors: list[RowError]) -> None:
    """Type and check the monitoring columns a session file has (old files have none)."""
    present = [spec for spec in MONITORING_FIELDS if spec.name in df.columns]
    for spec in present:
        out[spec.name] = _convert(_column(spec), df[spec.name], lines, errors)
    for name in TEXT_FIELDS:
        if name in df.columns:
            out[name] = pd.Series([t or None for t in _as_text(df[name])], index=out.index,
                                  dtype=object)
    for name in TIMES:
        if name not in df.columns:
            continue
        times, time_errors = validate_session_times(df[name].tolist(), lines, zone)
        out[name] = pd.Series(times, index=out.index, dtype=object)
        what = TIME_LABELS[name].lower()
        errors += [RowError(e.row, name, e.message.replace("the session time", what))
                   for e in time_errors]
    if {"sbp_discharge", "dbp_discharge"} <= set(df.columns):
        flagged = {e.row for e in errors if e.column in ("sbp_discharge", "dbp_discharge")}
        for pos, (sbp, dbp) in enumerate(zip(out["sbp_discharge"], out["dbp_discharge"],
                                             strict=True)):
            if int(lines[pos]) not in flagged and dbp >= sbp:  # NaN compares False
                errors.append(RowError(int(lines[pos]), "dbp_discharge", (
                    f"diastolic {dbp:g} is not below systolic {sbp:g} (sbp_discharge)")))
    if any(name in df.columns for name in (*TEXT_FIELDS, *TIMES)):
        keep = [c for c in (*TEXT_FIELDS, *TIMES, "minutes_to_discharge") if c in out.columns]
        flagged = {(e.row, e.column) for e in errors}
        for pos, row in enumerate(out[keep].to_dict("records")):
            line = int(lines[pos])
            errors += [e for e in consistency_problems(row, line)
                       if (line, e.column) not in flagged]
