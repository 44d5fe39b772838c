"""Small guards where user input meets files: path containment and CSV formula injection.

``safe_path`` keeps a user-given name inside a data folder (no ``..``, no absolute paths,
no symlinks out). ``csv_text``/``escape_cell`` neutralise spreadsheet formulas in text
cells, so a name like ``=HYPERLINK(...)`` typed into a form is shown, not run, when an
export is opened in Excel or LibreOffice (OWASP "CSV injection"). Every CSV export goes
through ``csv_text``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class UnsafePathError(ValueError):
    """A user-given path would leave its data folder."""


def safe_path(base: str | Path, user_path: str | Path) -> Path:
    """``user_path`` resolved inside ``base``; ``UnsafePathError`` if it would leave it.

    Relative paths only; symlinks are followed before the check, so a link pointing out
    of ``base`` is refused too. The result may not exist yet.
    """
    text = str(user_path)
    if not text or "\x00" in text:
        raise UnsafePathError("empty file name or a NUL character in it")
    if Path(text).is_absolute() or Path(text).drive:
        raise UnsafePathError(f"{text!r}: absolute paths are not allowed here")
    root = Path(base).resolve()
    target = (root / text).resolve()
    if target != root and not target.is_relative_to(root):
        raise UnsafePathError(f"{text!r} points outside the data folder")
    return target


def escape_cell(value: Any) -> Any:
    """A text cell that a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _is_text(series: pd.Series) -> bool:
    return (pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series)
            or isinstance(series.dtype, pd.CategoricalDtype))


def escape_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every text column escaped (numbers stay numbers)."""
    out = frame.copy()
    for column in out.columns:
        if _is_text(out[column]):
            out[column] = out[column].astype(object).map(escape_cell)
    out.columns = [escape_cell(str(c)) if isinstance(c, str) else c for c in out.columns]
    return out


def csv_text(frame: pd.DataFrame, **to_csv: Any) -> str:
    """``frame`` as CSV text with formula-like text cells neutralised (no index by default)."""
    to_csv.setdefault("index", False)
    to_csv.setdefault("lineterminator", "\n")
    return escape_frame(frame).to_csv(**to_csv)


def csv_rows_text(header: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> str:
    """Rows of dicts as escaped CSV text, streaming-friendly (for large audit exports)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(header), lineterminator="\n",
                            extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: escape_cell(v) for k, v in row.items()})
    return buffer.getvalue()
