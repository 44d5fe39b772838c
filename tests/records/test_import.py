"""Imports are all-or-nothing; seeding fills an empty store once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from base.settings import DATA_SAMPLES_DIR
from models.contract.validation import InputValidationError, validate_patients, validate_sessions
from records import repository as repo
from records.errors import RecordImportError
from records.imports import bulk
from records.tables.clinical import Patient, TreatmentPlan, TreatmentSession

Row = Callable[..., dict[str, Any]]


def counts(session: Session) -> tuple[int, int, int]:
    return tuple(session.scalar(select(func.count()).select_from(table))  # type: ignore
                 for table in (Patient, TreatmentPlan, TreatmentSession))


@pytest.fixture
def frames(make_patient: Row, make_session: Row) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Five patients with three sessions each."""
    patients = pd.DataFrame([make_patient(n, age=30 + n) for n in range(1, 6)])
    sessions = pd.DataFrame([make_session(f"KAP-{p:05d}", s) for p in range(1, 6)
                             for s in range(1, 4)])
    return patients, sessions


def test_import_saves_everything(db: Session, frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    summary = repo.import_patients_and_sessions(db, *frames)
    assert (summary.patients, summary.sessions) == (5, 15)
    assert counts(db) == (5, 5, 15)
    stored = repo.patients_frame(db)
    assert stored["age"].tolist() == [31, 32, 33, 34, 35]
    assert not any(p.is_synthetic for p in repo.list_patients(db))


def test_a_bad_patient_row_in_the_middle_saves_nothing(
        db: Session, frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    patients, sessions = frames
    patients.loc[2, "heart_disease"] = "broken"
    with pytest.raises(InputValidationError) as caught:
        repo.import_patients_and_sessions(db, patients, sessions)
    assert [(e.row, e.column) for e in caught.value.errors] == [(4, "heart_disease")]
    assert "row 4" in str(caught.value)
    assert counts(db) == (0, 0, 0)


def test_a_bad_session_row_in_the_middle_saves_no_patients_either(
        db: Session, frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    patients, sessions = frames
    sessions.loc[7, "patient_id"] = "KAP-00404"
    with pytest.raises(InputValidationError, match=r"row 9.*KAP-00404"):
        repo.import_patients_and_sessions(db, patients, sessions)
    assert counts(db) == (0, 0, 0)


def test_missing_names_and_stored_ids_are_reported_by_row(
        db: Session, frames: tuple[pd.DataFrame, pd.DataFrame], make_patient: Row) -> None:
    repo.add_patient(db, make_patient(3))
    db.commit()
    patients, _ = frames
    patients.loc[1, "name"] = ""
    with pytest.raises(InputValidationError) as caught:
        repo.import_patients_and_sessions(db, patients)
    assert {(e.row, e.column) for e in caught.value.errors} == {(3, "name"), (4, "patient_id")}
    assert counts(db) == (1, 1, 0)


def test_sessions_for_stored_patients_must_not_reuse_numbers(
        db: Session, make_patient: Row, make_session: Row) -> None:
    repo.add_patient(db, make_patient(1))
    repo.add_session(db, "KAP-00001", make_session(number=1))
    db.commit()
    new = pd.DataFrame([make_session(number=2), make_session(number=1)])
    with pytest.raises(InputValidationError, match=r"row 3.*already has session 1"):
        repo.import_patients_and_sessions(db, pd.DataFrame(), new)
    repo.import_patients_and_sessions(db, pd.DataFrame(), new.iloc[:1])
    assert counts(db) == (1, 1, 2)


def test_a_database_failure_mid_import_rolls_everything_back(
        db: Session, frames: tuple[pd.DataFrame, pd.DataFrame],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Patients are already inserted when the sessions insert fails: both are undone."""
    def fail(session: Session, _df: pd.DataFrame) -> None:
        assert session.scalar(select(func.count()).select_from(Patient)) == 5
        raise IntegrityError("INSERT INTO sessions ...", {}, Exception("disk on fire"))

    monkeypatch.setattr(bulk, "_insert_sessions", fail)
    with pytest.raises(RecordImportError, match="nothing was saved.*disk on fire"):
        repo.import_patients_and_sessions(db, *frames)
    assert counts(db) == (0, 0, 0)


def test_validated_frames_import_unchanged(
        db: Session, frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    patients, sessions = frames
    repo.import_patients_and_sessions(db, validate_patients(patients),
                                      validate_sessions(sessions))
    assert counts(db) == (5, 5, 15)


def write_samples(folder: Path, frames: tuple[pd.DataFrame, pd.DataFrame]) -> Path:
    folder.mkdir()
    patients, sessions = frames
    patients.assign(response=0, remission=0).to_csv(folder / "patients.csv", index=False)
    sessions.to_csv(folder / "sessions.csv", index=False)
    return folder


def test_seeding_fills_an_empty_store_once(store: Engine, factory: sessionmaker[Session],
                                           tmp_path: Path,
                                           frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    folder = write_samples(tmp_path / "samples", frames)
    assert repo.seed_from_samples(store, folder) == 5
    assert repo.seed_from_samples(store, folder) == 0
    with factory() as session:
        assert counts(session) == (5, 5, 15)
        assert all(p.is_synthetic for p in repo.list_patients(session))


def test_seeding_reports_a_bad_file_by_line(store: Engine, factory: sessionmaker[Session],
                                            tmp_path: Path,
                                            frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    patients, sessions = frames
    patients["bmi"] = patients["bmi"].astype(object)
    patients.loc[3, "bmi"] = "heavy"
    folder = write_samples(tmp_path / "samples", (patients, sessions))
    with pytest.raises(InputValidationError, match=r"(?s)patients.csv.*row 5, column 'bmi'"):
        repo.seed_from_samples(store, folder)
    with factory() as session:
        assert counts(session) == (0, 0, 0)


def test_seeding_from_the_committed_samples(store: Engine, factory: sessionmaker[Session]) -> None:
    expected = sum(1 for _ in open(DATA_SAMPLES_DIR / "patients.csv", encoding="utf-8")) - 1
    assert repo.seed_from_samples(store) == expected
    with factory() as session:
        frame = repo.patients_frame(session)
        assert len(frame) == expected and frame["patient_id"].is_unique
        assert len(repo.sessions_frame(session)) > expected
