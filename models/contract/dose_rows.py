"""The dose rules (``models.contract.doses``) on the rows of a validated file or form.

Kept beside ``validation`` (which calls it for patients and sessions) so the one
validation engine stays about columns; the rules themselves live in ``doses``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.contract.doses import dose_problems, wrong_unit
from models.contract.input_errors import RowError
from models.contract.schema import ESKETAMINE_ROUTE


def with_dose_columns(df: pd.DataFrame) -> pd.DataFrame:
    """An older file (before esketamine had its own mg column) read with that column empty."""
    if "dose_mg_per_kg" not in df.columns or "esketamine_dose_mg" in df.columns:
        return df
    out = df.copy()
    out.insert(list(df.columns).index("dose_mg_per_kg") + 1, "esketamine_dose_mg", "")
    out.attrs = dict(df.attrs)
    return out


def dose_errors(df: pd.DataFrame, out: pd.DataFrame, lines: np.ndarray,
                errors: list[RowError], limits: bool = True) -> None:
    """Each row's dose in its route's unit (``models.contract.doses``): esketamine in mg,
    ketamine in mg/kg, the other dose column empty. A file without ``esketamine_dose_mg``
    (older exports) is read as having it empty. A number in the other unit (0.5 for
    esketamine, 56 for a ketamine route) is named as such instead of as out of range.

    The rules run once per distinct (route, mg/kg, mg) (a cohort has few), so a file of a
    million sessions is checked as fast as the columns; the messages come out in row order,
    whichever reader (pyarrow or the csv module) typed the cells.
    """
    if "route" not in df.columns or "dose_mg_per_kg" not in df.columns:
        return
    empty = np.full(len(out), np.nan)
    frame = pd.DataFrame({
        "route": pd.Series(out["route"]).astype(str).to_numpy(),
        "per_kg": pd.to_numeric(out["dose_mg_per_kg"], errors="coerce").to_numpy(dtype=float),
        "mg": (pd.to_numeric(out["esketamine_dose_mg"], errors="coerce").to_numpy(dtype=float)
               if "esketamine_dose_mg" in out.columns else empty)})
    found: list[tuple[int, str, str]] = []  # (row position, field, message)
    replaced: list[tuple[int, str, str]] = []
    groups = frame.groupby(["route", "per_kg", "mg"], dropna=False, sort=False).indices
    for (route, per_kg, mg), positions in groups.items():
        given = mg if route == ESKETAMINE_ROUTE else per_kg
        unit = wrong_unit(route, given, limits)
        problems = dose_problems(route, per_kg, mg, limits)
        if unit is not None:
            problems = [p for p in problems if p[0] != unit[0]]
        for pos in positions:
            found += [(int(pos), name, message) for name, message in problems]
            if unit is not None:
                replaced.append((int(pos), *unit))
    if not found and not replaced:
        return
    route_flagged = {e.row for e in errors if e.column == "route"}
    swap = {(int(lines[pos]), name) for pos, name, _ in replaced
            if int(lines[pos]) not in route_flagged}
    if swap:  # the range message of a value in the other unit gives way to the unit's
        errors[:] = [e for e in errors if (e.row, e.column) not in swap]
    flagged = {(e.row, e.column) for e in errors}
    for pos, name, message in sorted(found + replaced, key=lambda item: item[0]):
        line = int(lines[pos])
        if line not in route_flagged and (line, name) not in flagged:
            errors.append(RowError(line, name, message))
            flagged.add((line, name))
