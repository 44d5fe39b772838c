"""Loading a cohort folder for training and evaluation, validated before anything is used."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from models.contract.csv_input import read_csv_strict
from models.contract.followup_validation import validate_followup, validate_followup_sessions
from models.contract.validation import validate_patients, validate_sessions


def load_patients(path: Path | str, require_outcomes: bool = False) -> pd.DataFrame:
    """Read and validate a patients CSV (every error in the file reported at once)."""
    path = Path(path)
    return validate_patients(read_csv_strict(path, arrow=True), require_outcomes=require_outcomes,
                             source=path.name)


def load_dataset(folder: Path | str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``patients.csv`` (with outcomes) and ``sessions.csv`` from a cohort folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"data folder {folder} does not exist")
    patients = load_patients(folder / "patients.csv", require_outcomes=True)
    sessions_path = folder / "sessions.csv"
    sessions = validate_sessions(read_csv_strict(sessions_path, arrow=True),
                                 known_patient_ids=patients["patient_id"],
                                 source=sessions_path.name)
    return patients, sessions


def load_followup(folder: Path | str, known_patient_ids: Iterable[str] | None = None,
                  sessions: bool = False) -> pd.DataFrame | None:
    """``followup.csv`` (or, with ``sessions``, ``followup_sessions.csv``) when present.

    Optional: cohorts made before follow-up existed have neither file (returns None).
    """
    path = Path(folder) / ("followup_sessions.csv" if sessions else "followup.csv")
    if not path.is_file():
        return None
    check = validate_followup_sessions if sessions else validate_followup
    return check(read_csv_strict(path, arrow=True), known_patient_ids=known_patient_ids,
                 source=path.name)
