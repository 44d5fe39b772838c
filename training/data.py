"""Loading a cohort folder for training and evaluation, validated before anything is used."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from models.validation import read_csv_strict, validate_patients, validate_sessions


def load_patients(path: Path | str, require_outcomes: bool = False) -> pd.DataFrame:
    """Read and validate a patients CSV (every error in the file reported at once)."""
    path = Path(path)
    return validate_patients(read_csv_strict(path), require_outcomes=require_outcomes,
                             source=path.name)


def load_dataset(folder: Path | str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``patients.csv`` (with outcomes) and ``sessions.csv`` from a cohort folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"data folder {folder} does not exist")
    patients = load_patients(folder / "patients.csv", require_outcomes=True)
    sessions_path = folder / "sessions.csv"
    sessions = validate_sessions(read_csv_strict(sessions_path),
                                 known_patient_ids=patients["patient_id"],
                                 source=sessions_path.name)
    return patients, sessions
