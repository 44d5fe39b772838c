"""A submission token is used once, enforced by the store (issue 23 defect 1).

Same token twice → one record and the first record's id; two threads with one token → one
record; the same token with other content → refused, never answered with a wrong record.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from records.decisions import record_decision
from records.repository import add_patient
from records.submissions import SubmissionConflictError, count, submit_once
from records.tables.clinical import Decision, Patient

TOKEN = "f" * 32


def _add(factory: sessionmaker[Session], values: dict[str, Any], token: str | None) -> Any:
    with factory() as session:
        done = submit_once(session, token, "patient_create", values,
                           lambda: add_patient(session, dict(values)).patient_id,
                           username="dr.a")
        session.commit()
        return done


def _patients(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return int(session.scalar(select(func.count(Patient.id))) or 0)


def test_same_token_stores_one_patient(factory: sessionmaker[Session],
                                       make_patient: Callable[..., dict]) -> None:
    values = {**make_patient(), "patient_id": None}  # next free id, as the form does
    first = _add(factory, values, TOKEN)
    second = _add(factory, values, TOKEN)
    assert first.repeated is False and second.repeated is True
    assert second.result == first.result == "KAP-00001"
    assert _patients(factory) == 1
    with factory() as session:
        assert count(session, "patient_create") == 1


def test_without_a_token_each_call_writes(factory: sessionmaker[Session],
                                          make_patient: Callable[..., dict]) -> None:
    values = {**make_patient(), "patient_id": None}
    _add(factory, values, None)
    _add(factory, values, None)
    assert _patients(factory) == 2  # the CLI has no rendered form: no token, no dedupe


def test_a_new_token_stores_a_new_patient(factory: sessionmaker[Session],
                                          make_patient: Callable[..., dict]) -> None:
    values = {**make_patient(), "patient_id": None}
    assert _add(factory, values, "a" * 32).result == "KAP-00001"
    assert _add(factory, values, "b" * 32).result == "KAP-00002"


def test_same_token_other_content_is_refused(factory: sessionmaker[Session],
                                             make_patient: Callable[..., dict]) -> None:
    _add(factory, {**make_patient(), "patient_id": None}, TOKEN)
    with pytest.raises(SubmissionConflictError, match="already saved"):
        _add(factory, {**make_patient(name="Someone Else"), "patient_id": None}, TOKEN)
    assert _patients(factory) == 1


def test_a_failed_write_leaves_the_token_unused(factory: sessionmaker[Session],
                                                make_patient: Callable[..., dict]) -> None:
    bad = {**make_patient(age=400), "patient_id": None}
    with pytest.raises(Exception):  # noqa: B017 - the validator's error; any refusal
        _add(factory, bad, TOKEN)
    with factory() as session:
        assert count(session) == 0  # rolled back with the record
    good = {**make_patient(), "patient_id": None}
    assert _add(factory, good, TOKEN).repeated is False  # corrected and sent again


def _race(store: Engine, work: Callable[[], Any], n: int = 4) -> list[Any]:
    """Run ``work`` in ``n`` threads released together; their results (or exceptions)."""
    gate = threading.Barrier(n)
    out: list[Any] = [None] * n

    def run(i: int) -> None:
        gate.wait()
        try:
            out[i] = work()
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            out[i] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return out


def test_concurrent_threads_store_one_patient(store: Engine, factory: sessionmaker[Session],
                                              make_patient: Callable[..., dict]) -> None:
    values = {**make_patient(), "patient_id": None}
    results = _race(store, lambda: _add(factory, values, TOKEN))
    assert not [r for r in results if isinstance(r, Exception)], results
    assert {r.result for r in results} == {"KAP-00001"}
    assert sum(not r.repeated for r in results) == 1
    assert _patients(factory) == 1


def test_concurrent_threads_append_one_decision(store: Engine, factory: sessionmaker[Session],
                                                make_patient: Callable[..., dict]) -> None:
    with factory() as session:
        add_patient(session, make_patient())
        session.commit()
    values = {"patient_id": "KAP-00001", "decision": "proceed", "reason": ""}

    def decide() -> Any:
        with factory() as session:
            done = submit_once(session, TOKEN, "decision", values, lambda: record_decision(
                session, "KAP-00001", decision="proceed", suggested="proceed",
                clinician="dr.a", role="clinician").id)
            session.commit()
            return done

    results = _race(store, decide)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len({r.result for r in results}) == 1
    with factory() as session:  # the append-only table holds exactly one decision
        assert session.scalar(select(func.count(Decision.id))) == 1
