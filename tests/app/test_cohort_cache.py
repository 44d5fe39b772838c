"""The cohort table kept on disk per model version: equal to building it afresh, updated
row by row when patients are added, edited or removed, ignored when unreadable, and
owner-only on disk (it holds patient ids)."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import delete

from dashboard.services.cohort.cache import cache_file
from dashboard.services.patients.listing import cohort_rows, cohort_table
from dashboard.services.workspace import Workspace
from models.contract.schema import NAME_COLUMN, feature_names
from records import make_engine, session_factory, upgrade
from records.frames import patients_frame
from records.repository import add_patient, get_patient, update_patient
from records.tables.builds import SharedBuild
from records.tables.clinical import Patient, TreatmentPlan

LOGGER = "dashboard.services.cohort.cache"


@pytest.fixture
def small(workspace: Workspace, tmp_path: Path) -> Workspace:
    """A store of its own with 40 of the sample patients (one with gaps), the test model."""
    engine = make_engine(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    upgrade(engine)
    with session_factory(workspace.engine)() as session:
        sample = patients_frame(session).head(40)
    with session_factory(engine)() as session:
        for i, row in enumerate(sample.to_dict("records")):
            values = {k: row[k] for k in ["patient_id", NAME_COLUMN, *feature_names()]}
            add_patient(session, values, gaps=["bmi"] if i == 3 else ())
        session.commit()
    yield Workspace(engine, workspace.model_set, workspace.card, workspace.version)
    cache_file(Workspace(engine, workspace.model_set, workspace.card,
                         workspace.version)).unlink(missing_ok=True)
    engine.dispose()


def _rebuilt(ws: Workspace) -> pd.DataFrame:
    """The cohort table built from every stored row, no cache involved."""
    with session_factory(ws.engine)() as session:
        return cohort_rows(ws, patients_frame(session))


def test_cache_equals_a_fresh_build_and_is_private(small: Workspace,
                                                   caplog: pytest.LogCaptureFixture):
    with caplog.at_level(logging.INFO, logger=LOGGER):
        first = cohort_table(small)
    assert "0 from the cache, 40 built" in caplog.text
    path = cache_file(small)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    pd.testing.assert_frame_equal(first, _rebuilt(small))
    assert first.loc[first.index[3], "prediction_gaps"] == ["bmi"]  # lists stay lists
    caplog.clear()
    with caplog.at_level(logging.INFO, logger=LOGGER):
        again = cohort_table(small)
    assert "40 from the cache, 0 built" in caplog.text
    pd.testing.assert_frame_equal(again, first)


def test_added_edited_and_removed_patients_alone_are_rebuilt(small: Workspace,
                                                             caplog: pytest.LogCaptureFixture):
    before = cohort_table(small)
    edited, removed = before.index[5], before.index[7]
    with session_factory(small.engine)() as session:
        patient = get_patient(session, edited)
        update_patient(session, edited, {"heart_rate": patient.heart_rate + 9}, patient.version)
        values = {k: before.loc[before.index[0], k] for k in [NAME_COLUMN, *feature_names()]}
        add_patient(session, {**values, "patient_id": "KAP-77777"})
        gone = get_patient(session, removed).id  # a removal (restore, erasure) drops the row
        session.execute(delete(TreatmentPlan).where(TreatmentPlan.patient_pk == gone))
        session.execute(delete(Patient).where(Patient.id == gone))
        session.commit()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger=LOGGER):
        after = cohort_table(small)
    assert "38 from the cache, 2 built" in caplog.text
    assert removed not in after.index and "KAP-77777" in after.index
    assert after.loc[edited, "heart_rate"] == before.loc[edited, "heart_rate"] + 9
    pd.testing.assert_frame_equal(after, _rebuilt(small))


def test_an_unreadable_cache_is_rebuilt(small: Workspace, caplog: pytest.LogCaptureFixture):
    first = cohort_table(small)
    cache_file(small).write_bytes(b"ARROW1 not an Arrow file")
    with small.engine.begin() as conn:  # nor is there a verified copy in the store (issue 31)
        conn.execute(delete(SharedBuild))
    with caplog.at_level(logging.INFO, logger=LOGGER):
        again = cohort_table(small)
    assert "unreadable; rebuilding" in caplog.text and "0 from the cache, 40 built" in caplog.text
    pd.testing.assert_frame_equal(again, first)


def test_an_unreadable_cache_is_replaced_by_the_stores_verified_copy(
        small: Workspace, caplog: pytest.LogCaptureFixture):
    first = cohort_table(small)
    cache_file(small).write_bytes(b"ARROW1 not an Arrow file")
    with caplog.at_level(logging.INFO, logger=LOGGER):
        again = cohort_table(small)
    assert "40 read from the build another replica published" in caplog.text
    assert "40 built" not in caplog.text.split("unreadable")[-1]
    pd.testing.assert_frame_equal(again, first)


def test_another_model_version_does_not_read_these_rows(small: Workspace):
    cohort_table(small)
    other = Workspace(small.engine, small.model_set, {**small.card, "created_utc": "x"},
                      small.version + "-other")
    assert cache_file(other) != cache_file(small)
