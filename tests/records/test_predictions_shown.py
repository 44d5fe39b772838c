"""Recorded predictions (issue 14, part 3): stored with version, inputs' hash, probabilities
and intervals, append-only in the ORM and in the database, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from records.db import session_factory
from records.errors import AppendOnlyError
from records.predictions import (
    inputs_hash,
    newest_patient_ids,
    predictions_frame,
    record_prediction,
    record_prediction_now,
)
from records.repository import add_patient
from records.tables.lifecycle import PredictionShown


def _record(store: Engine, patient: str = "KAP-00001", version: str = "v1",
            context: str = "viewed", response: float = 0.42) -> None:
    record_prediction_now(store, patient_id=patient, model_version=version,
                          inputs={"age": 40, "bmi": 27.5}, context=context,
                          probabilities={"response": response, "dropout": 0.2},
                          intervals={"response": (0.3, 0.55)}, username="dr_lee")


def test_recorded_predictions_round_trip(store: Engine) -> None:
    _record(store)
    _record(store, version="v2", context="decision", response=0.5)
    with session_factory(store)() as session:
        frame = predictions_frame(session)
        only_v2 = predictions_frame(session, "v2")
    assert list(frame["model_version"]) == ["v1", "v2"]
    assert frame["response"].tolist() == [0.42, 0.5]
    assert frame["inputs_sha256"].iloc[0] == inputs_hash({"bmi": 27.5, "age": 40})
    assert list(only_v2["context"]) == ["decision"]
    with session_factory(store)() as session:
        row = session.get(PredictionShown, 1)
        assert row is not None and row.intervals == {"response": [0.3, 0.55]}


def test_inputs_hash_changes_with_any_input() -> None:
    assert inputs_hash({"age": 40}) != inputs_hash({"age": 41})
    assert inputs_hash({"a": 1, "b": 2}) == inputs_hash({"b": 2, "a": 1})


def test_unknown_context_is_refused(store: Engine) -> None:
    with session_factory(store)() as session, pytest.raises(ValueError, match="unknown context"):
        record_prediction(session, patient_id="KAP-1", model_version="v", inputs={},
                          probabilities={}, intervals=None, context="guessed", username="x")


def test_recorded_predictions_are_append_only(store: Engine) -> None:
    _record(store)
    with session_factory(store)() as session:
        row = session.get(PredictionShown, 1)
        row.probabilities = {"response": 0.99}
        with pytest.raises(AppendOnlyError):
            session.commit()
    with pytest.raises(DBAPIError), store.begin() as conn:
        conn.execute(text("UPDATE predictions_shown SET model_version = 'forged'"))
    with pytest.raises(DBAPIError), store.begin() as conn:
        conn.execute(text("DELETE FROM predictions_shown"))


def test_newest_patients_are_the_last_added(store: Engine, make_patient) -> None:
    with session_factory(store)() as session:
        for number in (3, 1, 2):
            add_patient(session, make_patient(number))
        session.commit()
        assert newest_patient_ids(session, 2) == ["KAP-00002", "KAP-00001"]
