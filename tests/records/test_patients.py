"""Patients and sessions: add, get, search, plan history, optimistic locking."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from models.contract.schema import defaults
from models.contract.validation import InputValidationError
from records import repository as repo
from records.errors import DuplicateRecordError, RecordNotFoundError, StaleRecordError

Row = Callable[..., dict[str, Any]]


def test_add_and_get_a_patient(db: Session, make_patient: Row) -> None:
    added = repo.add_patient(db, make_patient(1, age=61, hypertension="controlled"))
    db.commit()
    assert added.version == 1
    assert added.created_at.tzinfo is not None
    patient = repo.get_patient(db, "KAP-00001")
    assert patient is not None
    assert patient.age == 61 and patient.hypertension == "controlled"
    assert patient.features() == {**defaults(), "age": 61, "hypertension": "controlled"}
    assert patient.is_synthetic is False
    assert repo.get_patient(db, "KAP-99999") is None


def test_patient_id_is_assigned_when_missing(db: Session, make_patient: Row) -> None:
    repo.add_patient(db, make_patient(7))
    row = make_patient(0)
    del row["patient_id"]
    assert repo.add_patient(db, row).patient_id == "KAP-00008"


def test_every_feature_is_required_no_silent_defaults(db: Session, make_patient: Row) -> None:
    row = make_patient(1)
    del row["bmi"]
    with pytest.raises(InputValidationError, match="bmi"):
        repo.add_patient(db, row)


def test_invalid_values_are_refused(db: Session, make_patient: Row) -> None:
    with pytest.raises(InputValidationError, match="sex"):
        repo.add_patient(db, make_patient(1, sex="unknown"))
    with pytest.raises(InputValidationError, match="name"):
        repo.add_patient(db, make_patient(2, name="  "))
    with pytest.raises(ValueError, match="unknown patient field"):
        repo.add_patient(db, make_patient(3, favourite_colour="blue"))


def test_duplicate_patient_id_is_refused(db: Session, make_patient: Row) -> None:
    repo.add_patient(db, make_patient(1))
    db.commit()
    with pytest.raises(DuplicateRecordError, match="KAP-00001"):
        repo.add_patient(db, make_patient(1))


def test_database_refuses_a_category_the_schema_does_not_allow(
        store: Engine, db: Session, make_patient: Row) -> None:
    repo.add_patient(db, make_patient(1))
    db.commit()
    for sql in ("UPDATE patients SET sex = 'other'", "UPDATE treatment_plans SET route = 'x'"):
        with store.connect() as conn, pytest.raises(IntegrityError):
            conn.execute(text(sql))


def test_search_by_id_or_name_with_limit(db: Session, make_patient: Row) -> None:
    for number, name in [(1, "Ada Byron"), (2, "Alan Turing"), (3, "Grace Hopper"),
                         (4, "100% Real_Name")]:
        repo.add_patient(db, make_patient(number, name=name))
    db.commit()

    def ids(*args: Any, **kwargs: Any) -> list[str]:
        return [p.patient_id for p in repo.list_patients(db, *args, **kwargs)]

    assert ids() == ["KAP-00001", "KAP-00002", "KAP-00003", "KAP-00004"]
    assert ids("hopper") == ["KAP-00003"]  # case-insensitive, on name
    assert ids("kap-0000") == ids()  # on id
    assert ids("a", limit=2) == ["KAP-00001", "KAP-00002"]
    assert ids("%") == ["KAP-00004"]  # wildcards are literal
    assert ids("n_T") == []  # "_" is literal too ("Alan Turing" would match a wildcard)
    assert ids("  ") == ids()


def test_update_bumps_version_and_keeps_plan_history(db: Session, make_patient: Row) -> None:
    patient = repo.add_patient(db, make_patient(1))
    db.commit()
    first_update = patient.updated_at
    patient = repo.update_patient(db, "KAP-00001", {"age": 50}, expected_version=1)
    db.commit()
    assert patient.version == 2 and patient.age == 50
    assert patient.updated_at >= first_update
    assert len(repo.plans_for(db, "KAP-00001")) == 1  # age is not part of the plan
    repo.update_patient(db, "KAP-00001", {"route": "im", "dose_mg_per_kg": 0.6},
                        expected_version=2)
    db.commit()
    plans = repo.plans_for(db, "KAP-00001")
    assert [(p.route, p.dose_mg_per_kg) for p in plans] == [("iv", 0.5), ("im", 0.6)]


def test_update_validates_and_refuses_identity_changes(db: Session, make_patient: Row) -> None:
    repo.add_patient(db, make_patient(1))
    db.commit()
    with pytest.raises(InputValidationError, match="age"):
        repo.update_patient(db, "KAP-00001", {"age": 7}, expected_version=1)
    with pytest.raises(ValueError, match="patient_id"):
        repo.update_patient(db, "KAP-00001", {"patient_id": "KAP-2"}, expected_version=1)
    with pytest.raises(RecordNotFoundError):
        repo.update_patient(db, "KAP-99999", {"age": 50}, expected_version=1)


def test_stale_update_is_refused_not_lost(factory: sessionmaker[Session],
                                          make_patient: Row) -> None:
    with factory() as setup:
        repo.add_patient(setup, make_patient(1))
        setup.commit()
    with factory() as alice, factory() as bob:
        seen_by_alice = repo.get_patient(alice, "KAP-00001")
        assert seen_by_alice is not None and seen_by_alice.version == 1
        repo.update_patient(bob, "KAP-00001", {"age": 55}, expected_version=1)
        bob.commit()
        with pytest.raises(StaleRecordError, match="changed by someone else"):
            repo.update_patient(alice, "KAP-00001", {"bmi": 31.0}, expected_version=1)
    with factory() as check:
        patient = repo.get_patient(check, "KAP-00001")
        assert patient is not None
        assert (patient.age, patient.bmi, patient.version) == (55, 27.0, 2)


def test_update_racing_between_read_and_write_is_refused(factory: sessionmaker[Session],
                                                         make_patient: Row) -> None:
    """Bob commits after Alice's version check but before her UPDATE: the UPDATE's
    version condition still catches it."""
    with factory() as setup:
        repo.add_patient(setup, make_patient(1))
        setup.commit()

    def bob_saves_first(*_: Any) -> None:
        with factory() as bob:
            repo.update_patient(bob, "KAP-00001", {"age": 55}, expected_version=1)
            bob.commit()

    with factory() as alice:
        event.listen(alice, "before_flush", bob_saves_first, once=True)
        with pytest.raises(StaleRecordError):
            repo.update_patient(alice, "KAP-00001", {"bmi": 31.0}, expected_version=1)
    with factory() as check:
        patient = repo.get_patient(check, "KAP-00001")
        assert patient is not None and (patient.age, patient.bmi) == (55, 27.0)


def test_sessions_are_recorded_once_per_number(db: Session, make_patient: Row,
                                               make_session: Row) -> None:
    repo.add_patient(db, make_patient(1))
    record = repo.add_session(db, "KAP-00001", {
        **make_session(number=1), "concomitant_medications": "sertraline 100 mg",
        "notes": "calm, ready to leave at 95 min"})
    repo.add_session(db, "KAP-00001", make_session(number=2, pcl5=30))
    db.commit()
    assert record.version == 1 and record.recorded_at.tzinfo is not None
    sessions = repo.sessions_for(db, "KAP-00001")
    assert [(s.session_number, s.pcl5) for s in sessions] == [(1, None), (2, 30)]
    assert sessions[0].concomitant_medications == "sertraline 100 mg"
    with pytest.raises(DuplicateRecordError, match="session 2"):
        repo.add_session(db, "KAP-00001", make_session(number=2))
    with pytest.raises(InputValidationError, match="phq9"):
        repo.add_session(db, "KAP-00001", make_session(number=3, phq9=40))
    with pytest.raises(RecordNotFoundError):
        repo.add_session(db, "KAP-00404", make_session("KAP-00404"))
