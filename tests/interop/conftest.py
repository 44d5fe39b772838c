"""Interop fixtures: an empty migrated SQLite store per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from records import make_engine, session_factory, upgrade


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Session]:
    engine = make_engine(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    upgrade(engine)
    with session_factory(engine)() as session:
        yield session
    engine.dispose()


@pytest.fixture(scope="session")
def cohort():
    """The committed sample cohort, validated (patients with outcomes, sessions)."""
    from base.settings import DATA_SAMPLES_DIR
    from models.contract.csv_input import read_csv_strict
    from models.contract.validation import validate_patients, validate_sessions

    patients = validate_patients(read_csv_strict(DATA_SAMPLES_DIR / "patients.csv"),
                                 require_outcomes=True)
    sessions = validate_sessions(read_csv_strict(DATA_SAMPLES_DIR / "sessions.csv"))
    return patients, sessions


@pytest.fixture(scope="session")
def trained(cohort):
    """A small model set and card trained on 400 sample patients (a few seconds)."""
    from training.train import train_model_set

    patients, sessions = cohort
    subset = patients.iloc[:400]
    result = train_model_set(subset, sessions[sessions["patient_id"].isin(
        subset["patient_id"])], n_bootstrap=10, seed=3)
    card = {**result.card, "version": "20250601T000000Z-test00"}
    return result.model_set, card


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh KAPCDS_HOME (embedded SQLite) for CLI tests; returns the temporary folder."""
    monkeypatch.setenv("KAPCDS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KAPCDS_ADMIN_PASSWORD", "test-admin-password-1")
    monkeypatch.delenv("KAPCDS_DATABASE_URL", raising=False)
    return tmp_path
