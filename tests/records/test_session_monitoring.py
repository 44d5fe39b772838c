"""Issue 13 point 4 in the store: the REMS-style monitoring record of a session.

A form (``require_monitoring``) refuses a session without every required field, naming
each; the values are stored as entered, ``minutes_to_discharge`` agrees with the two times,
and a CSV may carry the columns (validated) or leave them out (NULL = not recorded). On
SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pandas as pd
import pytest
from sqlalchemy.orm import Session

from models.clinical.session_monitoring import REQUIRED, monitoring_warnings
from models.contract.validation import InputValidationError
from records import repository as repo
from tests.records.conftest import SESSION_ONE

Row = Callable[..., dict[str, Any]]


def monitoring(dose_minutes: int = 10, ready_after: int = 130, **changes: Any) -> dict[str, Any]:
    """A complete monitoring record for ``session_row``'s first session."""
    dose_at = SESSION_ONE + timedelta(minutes=dose_minutes)
    values: dict[str, Any] = {
        "sbp_discharge": 128, "dbp_discharge": 80, "spo2_lowest": 96, "moaas_post": 4,
        "moaas_discharge": 5, "dissociation_discharge": False, "respiratory_depression": False,
        "serious_adverse_event": False, "cm_benzodiazepine": True, "cm_hypnotic": False,
        "cm_psychostimulant": False, "cm_maoi": False, "dose_at": dose_at,
        "ready_at": dose_at + timedelta(minutes=ready_after)}
    values.update(changes)
    return values


@pytest.fixture
def patient(db: Session, make_patient: Row) -> str:
    repo.add_patient(db, make_patient(1))
    db.commit()
    return "KAP-00001"


def _problems(caught: pytest.ExceptionInfo[InputValidationError]) -> dict[str, str]:
    return {str(e.column): e.message for e in caught.value.errors}


def test_a_form_session_without_monitoring_is_refused_field_by_field(
        db: Session, patient: str, make_session: Row) -> None:
    row = make_session(patient, 1, minutes_to_discharge=None)
    with pytest.raises(InputValidationError) as caught:
        repo.add_session(db, patient, row, require_monitoring=True)
    problems = _problems(caught)
    assert set(problems) == set(REQUIRED)  # minutes follow from the times: not asked twice
    assert problems["spo2_lowest"].startswith("missing value; enter this session's Lowest SpO2")
    assert repo.sessions_for(db, patient) == []


def test_lot_is_required_for_esketamine_and_a_description_for_an_sae(
        db: Session, patient: str, make_session: Row) -> None:
    row = {**make_session(patient, 1, route="intranasal_esketamine", dose_mg_per_kg=None,
                          esketamine_dose_mg=56,
                          minutes_to_discharge=None), **monitoring(serious_adverse_event=True)}
    with pytest.raises(InputValidationError) as caught:
        repo.add_session(db, patient, row, require_monitoring=True)
    assert set(_problems(caught)) == {"lot_number", "sae_description"}
    repo.add_session(db, patient, {**row, "lot_number": "ESK-2291",
                                   "sae_description": "vasovagal syncope"},
                     require_monitoring=True)
    stored = repo.sessions_for(db, patient)[0]
    assert (stored.lot_number, stored.sae_description) == ("ESK-2291", "vasovagal syncope")


def test_the_record_is_stored_as_entered_and_minutes_follow_from_the_times(
        db: Session, patient: str, make_session: Row) -> None:
    values = monitoring(ready_after=125)
    repo.add_session(db, patient, {**make_session(patient, 1, minutes_to_discharge=None),
                                   **values}, require_monitoring=True)
    db.commit()
    stored = repo.sessions_for(db, patient)[0]
    assert stored.minutes_to_discharge == 125
    assert stored.dose_at == values["dose_at"] and stored.ready_at == values["ready_at"]
    assert (stored.spo2_lowest, stored.moaas_post, stored.cm_benzodiazepine) == (96, 4, True)
    frame = repo.sessions_frame(db, patient)
    assert frame["dose_at"].iloc[0] == pd.Timestamp(values["dose_at"])
    assert frame["sbp_discharge"].iloc[0] == 128


def test_minutes_that_disagree_with_the_times_and_bad_values_are_refused(
        db: Session, patient: str, make_session: Row) -> None:
    values = monitoring(ready_after=125, spo2_lowest=120, dbp_discharge=140)
    with pytest.raises(InputValidationError) as caught:
        repo.add_session(db, patient, {**make_session(patient, 1, minutes_to_discharge=95),
                                       **values}, require_monitoring=True)
    problems = _problems(caught)
    assert "does not match time of dose" in problems["minutes_to_discharge"]
    assert "outside the allowed range" in problems["spo2_lowest"]
    assert "is not below systolic" in problems["dbp_discharge"]
    back = monitoring(ready_after=-5)
    with pytest.raises(InputValidationError) as caught:
        repo.add_session(db, patient, {**make_session(patient, 1, minutes_to_discharge=None),
                                       **back}, require_monitoring=True)
    assert "not after the time of dose" in _problems(caught)["ready_at"]


def test_without_the_requirement_old_style_sessions_stay_not_recorded(
        db: Session, patient: str, make_session: Row) -> None:
    repo.add_session(db, patient, make_session(patient, 1))
    stored = repo.sessions_for(db, patient)[0]
    assert stored.dose_at is None and stored.spo2_lowest is None
    assert stored.cm_maoi is None and stored.minutes_to_discharge == 95  # as entered


def test_a_correction_can_add_the_monitoring_record(
        db: Session, patient: str, make_session: Row) -> None:
    repo.add_session(db, patient, make_session(patient, 1))
    db.commit()
    values = monitoring(ready_after=95)
    record = repo.update_session(db, patient, 1, values, expected_version=1)
    db.commit()
    assert record.version == 2 and record.ready_at == values["ready_at"]
    assert monitoring_warnings({k: getattr(record, k) for k in values})[0].startswith(
        "Monitoring was 95 min")


def test_csv_monitoring_columns_are_optional_and_validated(
        db: Session, make_patient: Row, make_session: Row,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAPCDS_TIMEZONE", "Europe/Berlin")
    patients = pd.DataFrame([make_patient(1)])
    sessions = pd.DataFrame([make_session("KAP-00001", n) for n in (1, 2)])
    sessions["spo2_lowest"] = ["97", ""]
    sessions["cm_maoi"] = ["no", ""]
    sessions["dose_at"] = ["2026-03-02 10:40", ""]  # clinic time (CET)
    sessions["ready_at"] = ["2026-03-02 12:15", ""]
    bad = sessions.copy()
    bad["spo2_lowest"] = ["97", "low"]
    bad["ready_at"] = ["2026-03-02 12:40", ""]  # 120 min, but the file says 95
    with pytest.raises(InputValidationError) as caught:
        repo.import_patients_and_sessions(db, patients, bad)
    messages = {(e.row, e.column): e.message for e in caught.value.errors}
    assert set(messages) == {(2, "minutes_to_discharge"), (3, "spo2_lowest")}
    repo.import_patients_and_sessions(db, patients, sessions)
    frame = repo.sessions_frame(db)
    assert frame["dose_at"].iloc[0] == pd.Timestamp("2026-03-02 09:40", tz="UTC")
    assert frame["spo2_lowest"].tolist()[0] == 97 and pd.isna(frame["spo2_lowest"].iloc[1])
    assert frame["cm_maoi"].tolist() == [False, None]  # empty: not recorded, not "no"
    assert pd.isna(frame["ready_at"].iloc[1])
