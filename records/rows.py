"""Moving values between pandas frames, validated rows and database rows.

Frames hold numpy scalars and NaN; database drivers want plain Python values and None
(psycopg cannot adapt ``numpy.int64``), and database results want schema dtypes back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from models.contract.schema import FEATURES, ID_COLUMN, NAME_COLUMN, SESSION_FIELDS, DType
from models.contract.validation import InputValidationError, RowError

FEATURE_TYPES: dict[str, DType] = {f.name: f.dtype for f in FEATURES}
SESSION_TYPES: dict[str, DType] = {f.name: f.dtype for f in SESSION_FIELDS}
SESSION_NULLABLE = {f.name for f in SESSION_FIELDS if f.nullable}
NAME_MAX = 200

_PY = {"int": int, "float": float, "bool": bool, "category": str}


def python_value(value: Any, dtype: DType) -> Any:
    """One cell as the plain Python value the driver expects (None for missing)."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    return _PY[dtype](value)


def _python_column(series: pd.Series, dtype: DType) -> list[Any]:
    """A column as Python values, vectorised unless it has missing cells."""
    if series.isna().any():
        return [python_value(value, dtype) for value in series.tolist()]
    if dtype == "int":
        return series.astype("int64").tolist()
    if dtype == "float":
        return series.astype("float64").tolist()
    if dtype == "bool" and series.dtype == bool:
        return series.tolist()
    return [_PY[dtype](value) for value in series.tolist()]


def frame_records(df: pd.DataFrame, types: dict[str, DType]) -> list[dict[str, Any]]:
    """Rows of ``df`` restricted to ``types``' columns, as plain Python dicts."""
    names = list(types)
    columns = [_python_column(df[name], types[name]) for name in names]
    return [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]


def line_numbers(df: pd.DataFrame) -> list[int]:
    """File line of each row (as ``models.contract.validation`` numbers them: first data row =
    2)."""
    lines = df.attrs.get("line_numbers")
    if lines is not None and len(lines) == len(df):
        return [int(line) for line in lines]
    return list(range(2, len(df) + 2))


def check_names(df: pd.DataFrame, lines: list[int] | None = None) -> list[RowError]:
    """Every patient needs a name (the schema's validation does not cover names)."""
    if NAME_COLUMN not in df.columns:
        return [RowError(None, NAME_COLUMN, "required column is missing (the patient's name)")]
    errors = []
    for line, value in zip(lines or line_numbers(df), df[NAME_COLUMN], strict=True):
        text = "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(
            value).strip()
        if not text:
            errors.append(RowError(line, NAME_COLUMN, "missing value; expected a name"))
        elif len(text) > NAME_MAX:
            errors.append(RowError(line, NAME_COLUMN, f"name longer than {NAME_MAX} characters"))
    return errors


def raise_errors(errors: list[RowError], source: str | None) -> None:
    """Raise the project's validation error when there are any problems."""
    if errors:
        raise InputValidationError(errors, source)


def _column(values: Sequence[Any], dtype: DType, nullable: bool) -> Any:
    if dtype == "int":
        if nullable:
            return np.array([np.nan if v is None else v for v in values], dtype="float64")
        return np.array(values, dtype="int64")
    if dtype == "float":
        return np.array([np.nan if v is None else v for v in values], dtype="float64")
    if dtype == "bool":
        if nullable:
            return np.array([None if v is None else bool(v) for v in values], dtype=object)
        return np.array(values, dtype=bool)
    return np.array(values, dtype=object)


def typed_frame(keys: Sequence[str], rows: Iterable[Sequence[Any]],
                types: dict[str, DType], nullable: Iterable[str] = ()) -> pd.DataFrame:
    """A frame in schema dtypes, built column by column (fast, no per-row objects).

    int → int64 (float64 with NaN when nullable), float → float64, bool → bool (object
    with None when nullable), category and text → object; the same dtypes
    ``models.contract.validation`` returns for a CSV.
    """
    nullable = set(nullable)
    rows = list(rows)
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in keys]
    data = {key: _column(values, types.get(key, "category"), key in nullable)
            for key, values in zip(keys, columns, strict=True)}
    return pd.DataFrame(data, columns=list(keys))


ID_TYPES: dict[str, DType] = {ID_COLUMN: "category", NAME_COLUMN: "category"}
