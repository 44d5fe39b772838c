"""Issue 23 through the store: a stored session's new alerts reach the CDS cards, and the FHIR
export takes a RiskAssessment's time only from a recorded prediction of the same numbers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from interop.cds_hooks.fetch import stored_alerts
from interop.fhir.exporter.patient import recorded_prediction_time
from records import repository as repo
from records.predictions import record_prediction

Row = Callable[..., dict[str, Any]]
PID = "KAP-00001"


def test_stored_latest_session_alerts_include_dissociation_and_heart_rate(
        db: Session, store: Engine, make_patient: Row, make_session: Row) -> None:
    repo.add_patient(db, make_patient(1, phq9_baseline=20))
    repo.add_session(db, PID, {k: v for k, v in make_session(number=1).items()
                               if k != "patient_id"} | {"cadss": 30})
    repo.add_session(db, PID, {k: v for k, v in make_session(number=2).items()
                               if k != "patient_id"} | {"cadss": 24, "hr_post": 121})
    db.commit()
    alerts = stored_alerts(store, PID)
    assert {(a.session_number, a.kind) for a in alerts} == {(2, "dissociation"),
                                                            (2, "heart rate")}
    assert stored_alerts(store, "KAP-09999") == [] and stored_alerts(None, PID) == []


def test_prediction_time_only_from_a_recorded_prediction_of_the_same_numbers(
        db: Session, make_patient: Row) -> None:
    patient = repo.add_patient(db, make_patient(1))
    inputs = patient.features()
    shown = record_prediction(db, patient_id=PID, model_version="v1", inputs=inputs,
                              probabilities={"response": 0.61, "dropout": 0.2}, intervals=None,
                              context="viewed", username="dr-a")
    db.commit()
    same = {"response": 0.61, "dropout": 0.2}
    assert recorded_prediction_time(db, PID, "v1", inputs, same) == shown.shown_at
    assert recorded_prediction_time(db, PID, "v1", inputs, {"response": 0.7}) is None
    assert recorded_prediction_time(db, PID, "v2", inputs, same) is None
    changed = {**inputs, "phq9_baseline": int(inputs["phq9_baseline"]) + 1}
    assert recorded_prediction_time(db, PID, "v1", changed, same) is None
