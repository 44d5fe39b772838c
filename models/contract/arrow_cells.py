"""Numbers from a column of CSV cells held by pyarrow, for the validation engine.

``read_csv_strict(path, arrow=True)`` keeps the cells of a large file in pyarrow string
arrays; converting 20 numeric columns of 500,000 session rows to Python strings and back
took most of a 100,000-patient ``kapcds train`` before any model was fitted (issue 31).
Here the cells are trimmed, checked for emptiness and parsed by pyarrow's compiled kernels.
Anything pyarrow will not parse (a typo, "0x10", ...) returns None and the engine takes its
usual path for that column, which names every bad cell as before.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def is_arrow_text(values: pd.Series) -> bool:
    """Whether ``values`` are strings held by pyarrow (``read_csv_strict(arrow=True)``)."""
    dtype = values.dtype
    if not isinstance(dtype, pd.ArrowDtype):
        return False
    import pyarrow as pa

    return pa.types.is_string(dtype.pyarrow_dtype) or pa.types.is_large_string(
        dtype.pyarrow_dtype)


def arrow_numbers(values: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """(float64 values, NaN where empty; empty-cell mask) of pyarrow-held cells after
    trimming white space, or None when the cells are not pyarrow strings or one non-empty
    cell is not a number pyarrow can read."""
    if not is_arrow_text(values):
        return None
    import pyarrow as pa
    import pyarrow.compute as pc

    cells = _one_array(pa.array(values.array))
    if cells.null_count:
        return None
    trimmed = pc.utf8_trim_whitespace(cells)
    empty = pc.equal(trimmed, "")
    try:
        parsed = pc.cast(pc.if_else(empty, pa.scalar(None, pa.string()), trimmed),
                         pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    return (parsed.to_numpy(zero_copy_only=False).astype(float, copy=False),
            empty.to_numpy(zero_copy_only=False).astype(bool, copy=False))


def arrow_codes(values: pd.Series) -> tuple[np.ndarray, list[str]] | None:
    """(code of each cell, the distinct trimmed cells) of pyarrow-held cells, or None when
    the cells are not pyarrow strings: yes/no, categories and identifiers are checked once
    per distinct value."""
    if not is_arrow_text(values):
        return None
    import pyarrow as pa
    import pyarrow.compute as pc

    cells = _one_array(pa.array(values.array))
    if cells.null_count:
        return None
    encoded = pc.dictionary_encode(pc.utf8_trim_whitespace(cells))
    return (encoded.indices.to_numpy(zero_copy_only=False).astype(np.intp, copy=False),
            encoded.dictionary.to_pylist())


def _one_array(cells):
    """A pyarrow array in one chunk (a dictionary per chunk would not line up)."""
    return cells.combine_chunks() if hasattr(cells, "combine_chunks") else cells


def plain_text(values: pd.Series) -> pd.Series:
    """``values`` as Python strings (object dtype) when pyarrow holds them, else unchanged:
    what the rest of the engine and every caller expect."""
    return values.astype(object) if is_arrow_text(values) else values
