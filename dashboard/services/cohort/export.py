"""CSV downloads of the dashboard, as the signed-in role may see them (no Streamlit).

Every download goes through ``base.safety.csv_text`` (formula-like text neutralised)
and ``records.security.deidentify.for_view`` (names only for clinicians, pseudonyms for trainees).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from base.safety import csv_text
from dashboard.services.workspace import probability_column
from models.clinical.quality_gate import withhold_unreliable
from models.contract.schema import ID_COLUMN, NAME_COLUMN, OUTCOMES
from records.security.deidentify import for_view
from records.security.policy import patient_view

PREDICTION_COLUMNS = [ID_COLUMN, NAME_COLUMN, "eligibility_status",
                      *(probability_column(o.name) for o in OUTCOMES), "ood_overall"]


def predictions_csv(cohort: pd.DataFrame, role: str | None, key: bytes | None = None, *,
                    card: Mapping[str, Any] | None) -> str:
    """Every patient's predictions as CSV text for ``role`` (PermissionError: no patient rows).

    The quality gate of ``card`` applies as in ``kapcds predict``: an ``<outcome>_reliable``
    column per outcome, and a gated outcome's probabilities left empty.
    """
    columns = [c for c in PREDICTION_COLUMNS if c in cohort.columns]
    frame = withhold_unreliable(cohort[columns].reset_index(drop=True), card,
                                [o.name for o in OUTCOMES])
    return csv_text(for_view(frame, patient_view(role), key))


def rows_for(frame: pd.DataFrame, role: str | None, key: bytes | None = None) -> pd.DataFrame:
    """Patient rows (with a ``patient_id`` column) as ``role`` may see them."""
    if frame.empty or ID_COLUMN not in frame.columns:
        return frame.drop(columns=[c for c in (NAME_COLUMN,) if c in frame.columns])
    return for_view(frame, patient_view(role), key)
