"""No lost updates: two people editing the same patient and the same treatment session —
the second save is refused with a clear ``StaleRecordError`` and the first one is kept."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from models.contract.validation import InputValidationError
from records import repository as repo
from records.errors import RecordNotFoundError, StaleRecordError

Row = Callable[..., dict[str, Any]]


@pytest.fixture
def stored(factory: sessionmaker[Session], make_patient: Row, make_session: Row) -> None:
    with factory() as setup:
        repo.add_patient(setup, make_patient(1))
        repo.add_session(setup, "KAP-00001", make_session(number=1))
        setup.commit()


def _session(db: Session, number: int = 1) -> Any:
    return next(s for s in repo.sessions_for(db, "KAP-00001") if s.session_number == number)


def test_two_editors_same_patient_and_same_session(factory: sessionmaker[Session],
                                                   stored: None) -> None:
    with factory() as alice, factory() as bob:
        patient_version = repo.get_patient(alice, "KAP-00001").version  # type: ignore[union-attr]
        session_version = _session(alice).version
        assert (patient_version, session_version) == (1, 1)
        assert _session(bob).version == 1  # both opened the same versions

        repo.update_patient(alice, "KAP-00001", {"bmi": 29.5}, patient_version)
        repo.update_session(alice, "KAP-00001", 1, {"phq9": 12, "notes": "calm"},
                            session_version)
        alice.commit()

        with pytest.raises(StaleRecordError, match="patient KAP-00001 was changed by "
                           "someone else since you opened it .*version 1.*version 2.*reload"):
            repo.update_patient(bob, "KAP-00001", {"bmi": 35.0}, patient_version)
        with pytest.raises(StaleRecordError, match="session 1 of patient KAP-00001 was "
                           "changed by someone else .*version 1.*version 2.*reload"):
            repo.update_session(bob, "KAP-00001", 1, {"phq9": 20}, session_version)
        bob.rollback()
    with factory() as check:
        patient = repo.get_patient(check, "KAP-00001")
        record = _session(check)
        assert patient is not None and (patient.bmi, patient.version) == (29.5, 2)
        assert (record.phq9, record.notes, record.version) == (12, "calm", 2)


def test_session_edit_racing_between_read_and_write_is_refused(
        factory: sessionmaker[Session], stored: None) -> None:
    """Bob commits after Alice's version check but before her UPDATE."""
    def bob_saves_first(*_: Any) -> None:
        with factory() as bob:
            repo.update_session(bob, "KAP-00001", 1, {"gad7": 4}, expected_version=1)
            bob.commit()

    with factory() as alice:
        event.listen(alice, "before_flush", bob_saves_first, once=True)
        with pytest.raises(StaleRecordError, match="changed by someone else"):
            repo.update_session(alice, "KAP-00001", 1, {"gad7": 15}, expected_version=1)
    with factory() as check:
        assert _session(check).gad7 == 4


def test_session_edits_are_validated(factory: sessionmaker[Session], stored: None) -> None:
    with factory() as db:
        with pytest.raises(InputValidationError, match="phq9"):
            repo.update_session(db, "KAP-00001", 1, {"phq9": 99}, expected_version=1)
        with pytest.raises(ValueError, match="session_number"):
            repo.update_session(db, "KAP-00001", 1, {"session_number": 2}, expected_version=1)
        with pytest.raises(RecordNotFoundError, match="no session 7"):
            repo.update_session(db, "KAP-00001", 7, {"phq9": 3}, expected_version=1)
        record = repo.update_session(db, "KAP-00001", 1, {"pcl5": 40, "notes": "  "}, 1)
        db.commit()
        assert (record.pcl5, record.notes, record.version) == (40, None, 2)
