"""Reading CSV files strictly: every cell a string, every record with its true file line.

The line numbers travel in ``DataFrame.attrs`` so every later error message (validation,
import) names the line a user sees in their editor.
"""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from models.contract.input_errors import InputValidationError, RowError

log = logging.getLogger(__name__)

LINES = "line_numbers"  # DataFrame.attrs key set by read_csv_strict


class LineNumbers(tuple):
    """File line of each row, kept in ``DataFrame.attrs``.

    Immutable, so pandas' deep copy of ``attrs`` on every operation can share it instead of
    copying thousands of ints each time (that made per-patient views take seconds).
    """

    def __deepcopy__(self, memo: dict) -> LineNumbers:
        return self


def read_csv_strict(path: str | Path) -> pd.DataFrame:
    """Read a CSV with every cell as a string, refusing files that cannot be trusted.

    Uses the csv module (not pandas) so each record keeps its true file line number, which
    is stored in ``df.attrs["line_numbers"]`` and used in every later error message.
    """
    path = Path(path)
    source = path.name

    def fail(message: str, row: int | None = None) -> InputValidationError:
        return InputValidationError([RowError(row, None, message)], source)

    if not path.is_file():
        raise fail(f"file not found (or not a regular file): {path}")
    data = path.read_bytes()
    if not data.strip():
        raise fail("the file is empty: no header and no data rows")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise fail("the file is UTF-16 encoded; UTF-8 is required (re-save it as CSV UTF-8)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise fail(f"not valid UTF-8: byte 0x{data[exc.start]:02x} at byte offset {exc.start} "
                   f"(line {line}); UTF-8 is required (re-save the file as CSV UTF-8)",
                   line) from exc
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records: list[tuple[int, list[str]]] = []  # (first line of the record, cells)
    start = 1
    try:
        for record in reader:
            if any(cell.strip() for cell in record):
                records.append((start, record))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise fail(f"cannot parse CSV: {exc}", start) from exc
    if not records:
        raise fail("the file is empty: no header and no data rows")
    header_line, header = records[0]
    header = [name.strip() for name in header]
    errors = [RowError(header_line, None, f"header column {i + 1} has no name")
              for i, name in enumerate(header) if not name]
    errors += [RowError(header_line, name, "column name appears more than once in the header")
               for name in sorted({n for n in header if n and header.count(n) > 1})]
    errors += [RowError(line, None, f"has {len(rec)} fields but the header has {len(header)}")
               for line, rec in records[1:] if len(rec) != len(header)]
    if errors:
        raise InputValidationError(errors, source)
    if len(records) == 1:
        raise fail("no data rows (the file has a header only)")
    df = pd.DataFrame([rec for _, rec in records[1:]], columns=header, dtype=str)
    df.attrs.update(source=source, **{LINES: LineNumbers(line for line, _ in records[1:])})
    log.debug("read %s: %d rows, %d columns", source, len(df), len(header))
    return df


def line_numbers(df: pd.DataFrame) -> np.ndarray:
    """The file line of each row (as read), or 2, 3, … for a frame built in memory."""
    lines = df.attrs.get(LINES)
    if lines is not None and len(lines) == len(df):
        return np.asarray(lines)
    return np.arange(len(df)) + 2  # a frame built in memory: as if read from a clean file
