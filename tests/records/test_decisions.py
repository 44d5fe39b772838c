"""Decisions are append-only: recorded with their suggestion, never changed or removed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from records import repository as repo
from records.errors import AppendOnlyError


@pytest.fixture
def patient(db: Session, make_patient: Callable[..., dict[str, Any]]) -> str:
    repo.add_patient(db, make_patient(1))
    db.commit()
    return "KAP-00001"


def test_decisions_are_kept_in_order_with_their_context(db: Session, patient: str) -> None:
    repo.record_decision(db, patient, decision="proceed_with_cautions",
                         suggested="proceed_with_cautions", clinician="Dr Rivera",
                         model_version="2026.11.25-1")
    repo.record_decision(db, patient, decision="do_not_proceed",
                         suggested="proceed_with_cautions", clinician="Dr Rivera",
                         reason="  BP 172/104 at today's visit; recheck in two weeks ")
    db.commit()
    decisions = repo.decisions_for(db, patient)
    assert [d.decision for d in decisions] == ["proceed_with_cautions", "do_not_proceed"]
    assert decisions[0].reason is None and decisions[0].model_version == "2026.11.25-1"
    assert decisions[1].reason == "BP 172/104 at today's visit; recheck in two weeks"
    assert decisions[1].created_at.tzinfo is not None


def test_an_override_needs_a_reason(db: Session, patient: str) -> None:
    for reason in (None, "", "   "):
        with pytest.raises(ValueError, match="reason is required"):
            repo.record_decision(db, patient, decision="proceed", suggested="do_not_proceed",
                                 clinician="Dr Rivera", reason=reason)
    assert repo.decisions_for(db, patient) == []


@pytest.mark.parametrize("changes, message", [
    ({"decision": "maybe"}, "decision must be one of"),
    ({"suggested": "yes"}, "suggested must be one of"),
    ({"clinician": " "}, "clinician must be named"),
])
def test_bad_decisions_are_refused(db: Session, patient: str, changes: dict[str, str],
                                   message: str) -> None:
    values = {"decision": "proceed", "suggested": "proceed", "clinician": "Dr Rivera",
              **changes}
    with pytest.raises(ValueError, match=message):
        repo.record_decision(db, patient, **values)


def test_the_orm_refuses_to_update_or_delete_a_decision(db: Session, patient: str) -> None:
    decision = repo.record_decision(db, patient, decision="proceed", suggested="proceed",
                                    clinician="Dr Rivera")
    db.commit()
    decision.decision = "do_not_proceed"
    with pytest.raises(AppendOnlyError, match="append-only"):
        db.flush()
    db.rollback()
    db.delete(decision)
    with pytest.raises(AppendOnlyError, match="append-only"):
        db.flush()
    db.rollback()
    assert [d.decision for d in repo.decisions_for(db, patient)] == ["proceed"]


def test_the_database_refuses_too(store: Engine, db: Session, patient: str) -> None:
    """Raw SQL (another tool, a bulk ORM statement) cannot rewrite history either."""
    repo.record_decision(db, patient, decision="proceed", suggested="proceed",
                         clinician="Dr Rivera")
    db.commit()
    for sql in ("UPDATE decisions SET decision = 'do_not_proceed'", "DELETE FROM decisions"):
        with store.connect() as conn, pytest.raises(DBAPIError, match="append-only"):
            conn.execute(text(sql))
    with store.connect() as conn:
        assert conn.execute(text("SELECT decision FROM decisions")).scalars().all() == [
            "proceed"]
