"""Training data from a clinic's own records: the patients whose induction series has ended,
their realised outcomes by the reference definitions (the monitoring code's own
``ended_series``), validated like a training CSV, and split by time: the older patients to
fit, the most recent to test.

Takes plain frames (``records.frames.patients_frame`` / ``sessions_frame``) and the store's
order of arrival, so ``training`` never reads the store itself (the CLI and the lab do).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from models.contract.schema import ID_COLUMN, feature_names, outcome_names
from models.contract.validation import validate_patients
from training.lifecycle.monitor_clinic import ended_series

TEST_FRACTION = 0.3
MIN_TEST_PATIENTS = 50


@dataclass
class ClinicData:
    """Ended series, oldest first: ``fit`` (older) and ``test`` (most recent) patients."""

    fit: pd.DataFrame
    test: pd.DataFrame
    sessions: pd.DataFrame
    n_ongoing_or_gaps: int

    @property
    def patients(self) -> pd.DataFrame:
        """Fit then test patients, oldest first."""
        return pd.concat([self.fit, self.test], ignore_index=True)

    def describe(self) -> str:
        return (f"{len(self.fit) + len(self.test):,} ended series from the store "
                f"({len(self.fit):,} older to fit, {len(self.test):,} most recent to test; "
                f"{self.n_ongoing_or_gaps:,} patients left out: series ongoing, not started "
                "or with a placeholder input)")


def clinic_dataset(patients: pd.DataFrame, sessions: pd.DataFrame, arrival: Sequence[str],
                   test_fraction: float = TEST_FRACTION,
                   min_test: int = MIN_TEST_PATIENTS) -> ClinicData:
    """The clinic's labelled patients, split by ``arrival`` (patient ids, oldest first: the
    store's insertion order, the same order the monitoring's "recent patients" use).

    Maintenance sessions (``phase``) are left out, as the outcomes are those of the
    induction series. Raises ``ValueError`` when too few series have ended to test on.
    """
    if "phase" in sessions:
        sessions = sessions[sessions["phase"].fillna("induction") == "induction"]
    realised = ended_series(patients, sessions)
    rank = {str(pid): i for i, pid in enumerate(arrival)}
    unknown = sorted(set(realised[ID_COLUMN].astype(str)) - set(rank))
    if unknown:
        raise ValueError(f"{len(unknown)} patient(s) have no place in the arrival order "
                         f"(e.g. {unknown[0]})")
    realised = realised.assign(_order=realised[ID_COLUMN].astype(str).map(rank))
    realised = realised.sort_values("_order").drop(columns="_order").reset_index(drop=True)
    columns = [ID_COLUMN, *feature_names(), *outcome_names()]
    checked = validate_patients(realised[columns], require_outcomes=True, source="store")
    n_test = max(min_test, math.ceil(test_fraction * len(checked)))
    if len(checked) < 2 * n_test:
        raise ValueError(f"only {len(checked)} ended series in the store; updating needs at "
                         f"least {2 * n_test} ({n_test} recent patients to test on and as "
                         "many older ones to fit)")
    used = sessions[sessions[ID_COLUMN].astype(str).isin(set(checked[ID_COLUMN]))]
    return ClinicData(fit=checked.iloc[:-n_test].reset_index(drop=True),
                      test=checked.iloc[-n_test:].reset_index(drop=True),
                      sessions=used.reset_index(drop=True),
                      n_ongoing_or_gaps=len(patients) - len(checked))
