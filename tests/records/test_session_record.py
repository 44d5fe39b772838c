"""Issue 12 in the store: a session says when it took place (entered, never invented), what
was carried forward on purpose, and whether it was confirmed past the plan; a decision
carries the signed-in user's role. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pandas as pd
import pytest
from sqlalchemy.orm import Session

from models.contract.validation import InputValidationError
from records import repository as repo
from records.tables.clinical import TreatmentSession

Row = Callable[..., dict[str, Any]]


@pytest.fixture
def patient(db: Session, make_patient: Row) -> str:
    repo.add_patient(db, make_patient(1, planned_sessions=4))
    db.commit()
    return "KAP-00001"


def _problems(caught: pytest.ExceptionInfo[InputValidationError]) -> dict[str, str]:
    return {str(e.column): e.message for e in caught.value.errors}


def test_a_session_without_a_time_is_refused_with_every_empty_field(
        db: Session, patient: str, make_session: Row) -> None:
    row = make_session(patient, 1, session_at=None, phq9=None, sbp_pre=None, nausea=None)
    with pytest.raises(InputValidationError) as caught:
        repo.add_session(db, patient, row)
    problems = _problems(caught)
    assert set(problems) == {"session_at", "phq9", "sbp_pre", "nausea"}
    assert problems["session_at"].startswith("missing value; enter when the session took place")
    assert problems["phq9"] == "missing value; expected an integer from 0 to 27 points"
    assert repo.sessions_for(db, patient) == []


def test_a_session_in_the_future_is_refused(db: Session, patient: str,
                                            make_session: Row) -> None:
    future = datetime.now(timezone.utc) + timedelta(hours=2)
    with pytest.raises(InputValidationError, match="in the future"):
        repo.add_session(db, patient, make_session(patient, 1, session_at=future))


def test_time_is_stored_as_entered_and_day_follows_from_the_dates(
        db: Session, patient: str, make_session: Row) -> None:
    first = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)
    repo.add_session(db, patient, make_session(patient, 1, session_at=first, day=None))
    repo.add_session(db, patient, make_session(patient, 2, session_at=first + timedelta(days=4),
                                               day=None))
    db.commit()
    stored = repo.sessions_for(db, patient)
    assert [s.session_at for s in stored] == [first, first + timedelta(days=4)]
    assert [s.day for s in stored] == [0, 4]  # derived, not typed and not guessed
    with pytest.raises(InputValidationError, match="before the first session"):
        repo.add_session(db, patient, make_session(patient, 3, day=None,
                                                   session_at=first - timedelta(days=1)))


def test_past_the_plan_needs_confirmation_and_says_so_in_the_record(
        db: Session, patient: str, make_session: Row) -> None:
    for number in (1, 2, 3, 4):
        repo.add_session(db, patient, make_session(patient, number))
    with pytest.raises(InputValidationError) as caught:
        repo.add_session(db, patient, make_session(patient, 5))
    assert "session 5 is past the plan (5 of 4 planned sessions)" in _problems(
        caught)["past_plan_confirmed"]
    assert len(repo.sessions_for(db, patient)) == 4
    repo.add_session(db, patient, make_session(patient, 5, past_plan_confirmed=True))
    db.commit()
    flags = [s.past_plan_confirmed for s in repo.sessions_for(db, patient)]
    assert flags == [False, False, False, False, True]
    frame = repo.sessions_frame(db, patient)
    assert frame["past_plan_confirmed"].tolist() == flags


def test_carried_forward_values_are_stored_and_only_dose_and_route_may_be(
        db: Session, patient: str, make_session: Row) -> None:
    record = repo.add_session(db, patient, make_session(
        patient, 1, carried_forward={"dose_mg_per_kg": "plan", "route": "plan"}))
    assert record.carried_forward == {"dose_mg_per_kg": "plan", "route": "plan"}
    plain = repo.add_session(db, patient, make_session(patient, 2))
    assert plain.carried_forward == {}  # recorded: nothing was copied
    with pytest.raises(ValueError, match="only dose_mg_per_kg, route can be carried forward"):
        repo.add_session(db, patient, make_session(patient, 3,
                                                   carried_forward={"phq9": "session 2"}))


def test_a_correction_can_add_a_missing_date(db: Session, patient: str,
                                             make_session: Row) -> None:
    repo.add_session(db, patient, make_session(patient, 1))
    db.commit()
    record = db.query(TreatmentSession).one()
    record.session_at = None  # as a session stored before revision 0004
    db.commit()
    moment = datetime(2026, 3, 3, 8, 0, tzinfo=timezone.utc)
    repo.update_session(db, patient, 1, {"phq9": 12}, expected_version=record.version)
    db.commit()
    assert repo.sessions_for(db, patient)[0].session_at is None  # kept unknown
    repo.update_session(db, patient, 1, {"session_at": moment},
                        expected_version=record.version)
    db.commit()
    assert repo.sessions_for(db, patient)[0].session_at == moment


def test_csv_session_times_are_read_in_the_clinic_zone_or_stored_as_unknown(
        db: Session, make_patient: Row, make_session: Row,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAPCDS_TIMEZONE", "Europe/Berlin")
    patients = pd.DataFrame([make_patient(n) for n in (1, 2)])
    rows = [make_session("KAP-00001", 1), make_session("KAP-00001", 2),
            make_session("KAP-00002", 1)]
    sessions = pd.DataFrame(rows).astype({"session_at": object})
    sessions["session_at"] = ["2026-03-02 10:30", "2026-03-05T08:00Z", ""]
    repo.import_patients_and_sessions(db, patients, sessions)
    frame = repo.sessions_frame(db)
    assert frame["session_at"].iloc[0] == pd.Timestamp("2026-03-02 09:30", tz="UTC")  # CET
    assert frame["session_at"].iloc[1] == pd.Timestamp("2026-03-05 08:00", tz="UTC")
    assert pd.isna(frame["session_at"].iloc[2])  # empty cell: not recorded, not "now"
    assert frame["carried_forward"].isna().all() and frame["past_plan_confirmed"].isna().all()


def test_csv_without_the_column_is_stored_as_unknown_and_bad_times_are_refused(
        db: Session, make_patient: Row, make_session: Row) -> None:
    patients = pd.DataFrame([make_patient(1)])
    sessions = pd.DataFrame([make_session("KAP-00001", n) for n in (1, 2)])
    bad = sessions.astype({"session_at": object})
    bad["session_at"] = ["2026-03-02", "yesterday"]
    with pytest.raises(InputValidationError) as caught:
        repo.import_patients_and_sessions(db, patients, bad)
    messages = {(e.row, e.column): e.message for e in caught.value.errors}
    assert "has a date but no time" in messages[(2, "session_at")]
    assert "is not a date and time" in messages[(3, "session_at")]
    repo.import_patients_and_sessions(db, patients, sessions.drop(columns=["session_at"]))
    assert repo.sessions_frame(db)["session_at"].isna().all()


def test_a_decision_stores_the_role(db: Session, patient: str) -> None:
    repo.record_decision(db, patient, decision="proceed", suggested="proceed",
                         clinician="dr_lee", role="clinician")
    db.commit()
    assert [(d.clinician, d.role) for d in repo.decisions_for(db, patient)] == [
        ("dr_lee", "clinician")]
    with pytest.raises(ValueError, match="role must be one of"):
        repo.record_decision(db, patient, decision="proceed", suggested="proceed",
                             clinician="dr_lee", role="nurse")


def test_past_the_plan_is_not_asked_when_the_plan_is_a_gap(db: Session, make_patient: Row,
                                                           make_session: Row) -> None:
    repo.add_patient(db, make_patient(2, planned_sessions=None), gaps=["planned_sessions"])
    for number in (1, 2, 3, 4, 5, 6, 7):  # past the placeholder (6): nothing to confirm
        repo.add_session(db, "KAP-00002", make_session("KAP-00002", number))
    db.commit()
    flags = {s.past_plan_confirmed for s in repo.sessions_for(db, "KAP-00002")}
    assert flags == {None}  # the plan is unknown, so "past the plan" was not asked
