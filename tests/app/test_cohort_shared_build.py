"""Replicas on one store (issue 31): the cohort table built by one process is published in
the store under its lease, so a second process (its own KAPCDS_HOME, no file of its own)
reads it instead of building the same store state again; a process that finds the build
leased waits for the result; bytes in the store that fail their HMAC are never shown."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select, update

from base import settings
from dashboard.services.cohort import shared
from dashboard.services.cohort.cache import FORMAT, cache_file
from dashboard.services.patients.listing import cohort_table
from dashboard.services.workspace import Workspace
from models.contract.schema import NAME_COLUMN, feature_names
from records import make_engine, session_factory, shared_builds, upgrade
from records.frames import patients_frame
from records.repository import add_patient
from records.tables.builds import SharedBuild
from records.tables.security import AuditEntry

LOGGER = "dashboard.services.cohort.cache"


@pytest.fixture
def store30(workspace: Workspace, tmp_path: Path) -> Workspace:
    """A store of its own with 30 of the sample patients and the test model."""
    engine = make_engine(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    upgrade(engine)
    with session_factory(workspace.engine)() as session:
        sample = patients_frame(session).head(30)
    with session_factory(engine)() as session:
        for row in sample.to_dict("records"):
            add_patient(session, {k: row[k] for k in ["patient_id", NAME_COLUMN,
                                                      *feature_names()]})
        session.commit()
    ws = Workspace(engine, workspace.model_set, workspace.card, workspace.version)
    yield ws
    cache_file(ws).unlink(missing_ok=True)
    engine.dispose()


def _other_replica(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """From here on this process is a second replica: its own home, the shared key."""
    monkeypatch.setenv("KAPCDS_SIGNING_KEY_FILE", str(settings.signing_key_file()))
    monkeypatch.setenv("KAPCDS_HOME", str(tmp_path / "replica-two"))


def _builds(ws: Workspace) -> int:
    return shared_builds.state(ws.engine, shared.build_key(ws, FORMAT)).builds


def test_a_second_replica_reads_the_published_build(store30: Workspace, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    caplog: pytest.LogCaptureFixture):
    first = cohort_table(store30)
    assert _builds(store30) == 1
    _other_replica(monkeypatch, tmp_path)
    assert not cache_file(store30).exists()
    with caplog.at_level(logging.INFO, logger=LOGGER):
        second = cohort_table(store30)
    assert "30 read from the build another replica published" in caplog.text
    assert "30 built" not in caplog.text
    assert _builds(store30) == 1 and cache_file(store30).exists()
    pd.testing.assert_frame_equal(second, first)


def test_a_replica_waits_for_the_build_leased_by_another(store30: Workspace, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch):
    first = cohort_table(store30)  # publishes; then another holder leases the key
    key = shared.build_key(store30, FORMAT)
    published = shared_builds.published(store30.engine, key)
    with store30.engine.begin() as conn:
        conn.execute(update(SharedBuild).values(fingerprint=None, body=None))
    assert shared_builds.claim(store30.engine, key, "replica-one", 60)
    _other_replica(monkeypatch, tmp_path)
    result: list[pd.DataFrame] = []
    waiter = threading.Thread(target=lambda: result.append(cohort_table(store30)))
    waiter.start()
    waiter.join(timeout=1.5)
    assert waiter.is_alive() and not result  # waiting, not building
    assert shared_builds.publish(store30.engine, key, "replica-one", published.fingerprint,
                                 published.body, published.tag)
    waiter.join(timeout=60)
    assert len(result) == 1
    pd.testing.assert_frame_equal(result[0], first)
    assert _builds(store30) == 2  # the test's first build and replica-one's; none by the waiter


def test_tampered_bytes_in_the_store_are_rejected_and_rebuilt(
        store30: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture):
    first = cohort_table(store30)
    key = shared.build_key(store30, FORMAT)
    found = shared_builds.published(store30.engine, key)
    assert shared_builds.claim(store30.engine, key, "intruder", 60)  # a forged, well-formed row
    assert shared_builds.publish(store30.engine, key, "intruder", found.fingerprint,
                                 found.body, "0" * 64)
    _other_replica(monkeypatch, tmp_path)
    with caplog.at_level(logging.INFO):
        again = cohort_table(store30)
    assert "failed its integrity check" in caplog.text and "0 from the cache, 30 built" in \
        caplog.text
    pd.testing.assert_frame_equal(again, first)
    with session_factory(store30.engine)() as session:
        actions = session.scalars(select(AuditEntry.action)).all()
    assert "integrity_failure" in actions
    assert shared.fetch(store30, key) is not None  # the rebuild replaced the forged row
