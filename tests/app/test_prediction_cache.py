"""Cohort predictions kept on disk per model version: equal to predicting afresh, updated
row by row when a patient changes, and owner-only on disk (they hold patient ids)."""

from __future__ import annotations

import logging
import stat

import pandas as pd
import pytest

from dashboard.services.patients import cohort_table
from dashboard.services.prediction_cache import cached_predictions
from dashboard.services.workspace import Workspace
from models.predict import predict_frame
from models.schema import ID_COLUMN
from records.db import session_factory
from records.frames import patients_frame
from records.repository import get_patient, update_patient


def _cache_files(home) -> list:
    return sorted((home / "cache").glob("cohort-predictions-*.parquet"))


def test_cache_equals_a_fresh_prediction_and_is_private(kapcds_home, workspace: Workspace,
                                                        caplog: pytest.LogCaptureFixture):
    for path in _cache_files(kapcds_home):
        path.unlink()
    fresh = cohort_table(workspace)
    files = _cache_files(kapcds_home)
    assert len(files) == 1 and stat.S_IMODE(files[0].stat().st_mode) == 0o600
    with caplog.at_level(logging.INFO, logger="dashboard.services.prediction_cache"):
        again = cohort_table(workspace)
    assert f"{len(fresh)} from the cache, 0 predicted" in caplog.text
    pd.testing.assert_frame_equal(again, fresh)


def test_an_edited_patient_alone_is_predicted_again(workspace: Workspace,
                                                    caplog: pytest.LogCaptureFixture):
    cohort_table(workspace)  # the cache holds every patient
    pid = "KAP-00010"
    with session_factory(workspace.engine)() as session:
        patient = get_patient(session, pid)
        before = patient.heart_rate
        update_patient(session, pid, {"heart_rate": before + 7}, patient.version)
        session.commit()
    try:
        with session_factory(workspace.engine)() as session:
            patients = patients_frame(session)
        with caplog.at_level(logging.INFO, logger="dashboard.services.prediction_cache"):
            cached = cached_predictions(workspace, patients)
        assert f"{len(patients) - 1} from the cache, 1 predicted" in caplog.text
        expected = predict_frame(workspace.model_set, patients).drop(columns=[ID_COLUMN])
        pd.testing.assert_frame_equal(cached, expected)
    finally:
        with session_factory(workspace.engine)() as session:
            patient = get_patient(session, pid)
            update_patient(session, pid, {"heart_rate": before}, patient.version)
            session.commit()
