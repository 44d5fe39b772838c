"""The eligibility screen's codes for a whole frame at once (the scoring hot path).

``eligibility.screen`` builds cited findings for one patient; a scored cohort only needs
each row's status and its exclusion and caution codes. Here every rule is one vectorised
comparison over a column, in the same order and with the same thresholds, so the codes are
those ``screen`` gives. Frames this does not take exactly as ``screen`` would (a missing
value, text in a yes/no column, numbers as text) return None and go row by row, which
also raises the same errors.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.clinical.eligibility_rules import (
    BENZO_TAPER_ABOVE_MG,
    CAUTIONS,
    EXCLUSIONS,
    OLDER_ADULT_AGE,
    REQUIRED_INPUTS,
    TRD_MIN_FAILED_TRIALS,
    UNSOURCED_UNCONTROLLED_DBP,
    UNSOURCED_UNCONTROLLED_SBP,
)
from models.contract import schema

_NUMBER_KINDS = "biuf"  # bool, signed/unsigned integer, float


def _flag(column: pd.Series) -> np.ndarray | None:
    """``bool(value)`` per row, for bool or numeric columns (None: go row by row)."""
    if column.dtype.kind in _NUMBER_KINDS:
        return column.to_numpy() != 0
    return None


def _number(column: pd.Series) -> np.ndarray | None:
    if column.dtype.kind in _NUMBER_KINDS:
        return column.to_numpy(dtype=float)
    return None


def _text(column: pd.Series) -> np.ndarray | None:
    """``str(value).strip()`` per row, for columns of text."""
    values = column.to_numpy(dtype=object)
    if not all(type(v) is str for v in values):
        return None
    return np.char.strip(values.astype(str))


def _missing(df: pd.DataFrame) -> bool:
    """Whether any required input is absent, empty or NaN (``screen`` raises then)."""
    for name in REQUIRED_INPUTS:
        if name not in df:
            return True
        column = df[name]
        if column.isna().any():
            return True
        if column.dtype == object and any(isinstance(v, str) and not v.strip()
                                          for v in column.to_numpy()):
            return True
    return False


def _rule_masks(df: pd.DataFrame, rules) -> list[tuple[str, np.ndarray]] | None:
    out = []
    for code, name, trigger in rules:
        if trigger is True:
            mask = _flag(df[name])
        else:
            text = _text(df[name])
            mask = None if text is None else text == trigger
        if mask is None:
            return None
        out.append((code, mask))
    return out


def _joined(codes: list[str], masks: np.ndarray) -> np.ndarray:
    """';'-joined codes of each row's set bits, joined once per distinct pattern."""
    if masks.shape[1] == 0:
        return np.full(masks.shape[0], "", dtype=object)
    keys = masks.astype(np.int64) @ (np.int64(1) << np.arange(masks.shape[1], dtype=np.int64))
    patterns, inverse = np.unique(keys, return_inverse=True)
    texts = np.array([";".join(c for j, c in enumerate(codes) if (int(key) >> j) & 1)
                      for key in patterns], dtype=object)
    return texts[np.ravel(inverse)]


def screen_codes(df: pd.DataFrame) -> pd.DataFrame | None:
    """``eligibility_status``, ``exclusions`` and ``cautions`` columns, or None (row-wise)."""
    if len(df) == 0 or _missing(df):
        return None
    exclusions = _rule_masks(df, EXCLUSIONS)
    cautions = _rule_masks(df, CAUTIONS)
    numbers = {n: _number(df[n]) for n in ("failed_ad_trials", "systolic_bp",
                                          "diastolic_bp", "benzo_dose_mg", "age")}
    dx = {code: _flag(df[f"dx_{code}"]) for code in schema.DIAGNOSES}
    hypertension = _text(df["hypertension"])
    if (exclusions is None or cautions is None or hypertension is None
            or any(v is None for v in numbers.values()) or any(v is None for v in dx.values())):
        return None
    trials = np.trunc(numbers["failed_ad_trials"])
    indicated = np.zeros(len(df), dtype=bool)
    for code, flag in dx.items():
        indicated |= flag & (trials >= TRD_MIN_FAILED_TRIALS) if code == "trd" else flag
    uncontrolled = ((hypertension == "uncontrolled")
                    | (numbers["systolic_bp"] >= UNSOURCED_UNCONTROLLED_SBP)
                    | (numbers["diastolic_bp"] >= UNSOURCED_UNCONTROLLED_DBP))
    exclusions.append(("uncontrolled_hypertension", uncontrolled))
    cautions = [(c, m & ~uncontrolled) if c == "controlled_hypertension" else (c, m)
                for c, m in cautions]
    cautions.append(("benzodiazepine_dose", numbers["benzo_dose_mg"] > BENZO_TAPER_ABOVE_MG))
    cautions.append(("age_65_plus", numbers["age"] >= OLDER_ADULT_AGE))
    excluded = np.column_stack([m for _, m in exclusions])
    cautioned = np.column_stack([m for _, m in cautions])
    status = np.where(excluded.any(axis=1), "not_eligible", np.where(
        ~indicated, "no_indication",
        np.where(cautioned.any(axis=1), "eligible_with_cautions", "eligible")))
    return pd.DataFrame({
        "eligibility_status": status.astype(object),
        "exclusions": _joined([c for c, _ in exclusions], excluded),
        "cautions": _joined([c for c, _ in cautions], cautioned),
    }, index=df.index)
