"""Keeping placeholders out of predictions (issue 7; no Streamlit here).

A patient saved with gaps holds schema-default placeholders for the missing inputs. The
cohort table still lists such a patient (so it can be opened and completed), but its
predictions are blanked and cohort statistics leave it out: a placeholder is never shown
as if it were the patient's value.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from records.gaps import labels, prediction_blockers, screen_blockers

log = logging.getLogger(__name__)

GAPS = "data_gaps"
PREDICTION_GAPS = "prediction_gaps"
SCREEN_GAPS = "screen_gaps"
INCOMPLETE = "incomplete"  # eligibility status while screen inputs are missing


def mark_gaps(table: pd.DataFrame) -> pd.DataFrame:
    """Add the blocker columns and blank what placeholders would have produced."""
    gaps = table[GAPS] if GAPS in table else pd.Series([[]] * len(table), index=table.index)
    table[PREDICTION_GAPS] = [prediction_blockers(g) for g in gaps]
    table[SCREEN_GAPS] = [screen_blockers(g) for g in gaps]
    blocked = table[PREDICTION_GAPS].map(bool).to_numpy(dtype=bool)
    if blocked.any():
        for column in [c for c in table.columns if c.endswith(("_probability", "_interval_lo",
                                                               "_interval_hi"))]:
            table[column] = table[column].astype(float)
            table.loc[blocked, column] = np.nan
        table.loc[blocked, "ood_overall"] = False
        log.info("%d patient(s) with missing model inputs: predictions hidden",
                 int(blocked.sum()))
    unscreened = table[SCREEN_GAPS].map(bool).to_numpy(dtype=bool)
    if unscreened.any() and "eligibility_status" in table:
        table.loc[unscreened, "eligibility_status"] = INCOMPLETE
    return table


def predictable_mask(cohort: pd.DataFrame) -> np.ndarray:
    """True for each patient whose model inputs are all real values (no frame copied)."""
    if PREDICTION_GAPS not in cohort:
        return np.ones(len(cohort), dtype=bool)
    return ~cohort[PREDICTION_GAPS].map(bool).to_numpy(dtype=bool)


def predictable(cohort: pd.DataFrame) -> pd.DataFrame:
    """Patients whose model inputs are all real values (for cohort views and statistics)."""
    if PREDICTION_GAPS not in cohort or cohort.empty:
        return cohort
    return cohort[predictable_mask(cohort)]


def needs_message(names: list[str], what: str = "predictions need") -> str:
    """``predictions need: PHQ-9 at baseline, BMI`` (labels as the clinician knows them)."""
    return f"{what}: {labels(names)}" if names else ""


SUMMARY_NAMES = 3  # labels named in a one-line summary; the full list is on demand


def gap_summary(names: list[str], what: str) -> str:
    """One compact line: ``Predictions not shown: 34 inputs missing (BMI, …)``.

    The full list goes in an expander (``labels(names)``); the line only says how many and
    names the first few, so a patient with many gaps does not fill the screen.
    """
    if not names:
        return ""
    first = labels(names[:SUMMARY_NAMES])
    more = f" and {len(names) - SUMMARY_NAMES} more" if len(names) > SUMMARY_NAMES else ""
    count = f"{len(names)} input{'s' if len(names) != 1 else ''} missing"
    return f"{what}: {count} ({first}{more})"


def recorded_values(values: dict, gaps: list[str]) -> dict:
    """A patient's inputs without the placeholders standing in for its gaps."""
    missing = set(gaps)
    return {name: value for name, value in values.items() if name not in missing}
