"""Issue 24, attack 1: derived files read back from the data folder decide what a clinician
sees. A crafted cohort cache (fingerprint and row versions kept, numbers changed) and a
training upload swapped in the jobs folder must be refused, logged, audited and rebuilt."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.feather as feather
import pytest
from security_helpers import patient
from sqlalchemy import select

from base.settings import DATA_SAMPLES_DIR
from dashboard.services.cohort.cache import cache_file, cached_cohort
from dashboard.services.workspace import Workspace
from models.contract.schema import ID_COLUMN
from records import make_engine, session_factory, upgrade
from records.repository import add_patient
from records.tables.security import AuditEntry
from training.lifecycle.job_data import load_job_data, seal_upload

MAGIC = b"KAPCDS-MAC1 "


def _build(ws: Workspace, patients: pd.DataFrame) -> pd.DataFrame:
    """A stand-in for the cohort rows: one probability per patient, from the store."""
    return pd.DataFrame({ID_COLUMN: patients[ID_COLUMN].to_numpy(),
                         "response_probability": 0.2},
                        index=pd.Index(patients[ID_COLUMN].astype(str).to_numpy()))


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    engine = make_engine(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    upgrade(engine)
    with session_factory(engine)() as session:
        for number in (1, 2, 3):
            add_patient(session, patient(number))
        session.commit()
    yield Workspace(engine, None, {"created_utc": "2026-12-01T00:00:00Z"}, "v1")  # type: ignore[arg-type]
    engine.dispose()


def _craft(path: Path, probability: float) -> None:
    """What an attacker without the key does: change the numbers, keep the fingerprint,
    the row versions and whatever header the file had."""
    data = path.read_bytes()
    head, body = (data.split(b"\n", 1) if data.startswith(MAGIC) else (b"", data))
    table = feather.read_table(pa.BufferReader(body))
    column = table.schema.get_field_index("response_probability")
    table = table.set_column(column, "response_probability",
                             pc.add(pc.multiply(table.column(column), 0.0), probability))
    out = pa.BufferOutputStream()
    feather.write_feather(table, out, compression="lz4")
    path.write_bytes((head + b"\n" if head else b"") + out.getvalue().to_pybytes())


def test_crafted_cohort_cache_is_discarded_audited_and_rebuilt(
        ws: Workspace, caplog: pytest.LogCaptureFixture):
    first = cached_cohort(ws, _build)
    assert (first["response_probability"] == 0.2).all()
    _craft(cache_file(ws), 0.97)
    with caplog.at_level(logging.INFO, logger="dashboard.services.cohort.cache"):
        shown = cached_cohort(ws, _build)
    assert (shown["response_probability"] == 0.2).all(), "the crafted numbers were shown"
    assert "failed its integrity check" in caplog.text
    # rebuilt from the verified table published in the store (issue 31), not from the file
    assert "3 read from the build another replica published" in caplog.text
    with session_factory(ws.engine)() as session:
        actions = session.scalars(select(AuditEntry.action)).all()
    assert "integrity_failure" in actions
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="dashboard.services.cohort.cache"):
        again = cached_cohort(ws, _build)  # the rebuilt file is trusted again
    assert "3 from the cache, 0 built" in caplog.text
    pd.testing.assert_frame_equal(again, shown)


def test_cohort_cache_of_another_model_version_is_not_reused(ws: Workspace,
                                                             caplog: pytest.LogCaptureFixture):
    cached_cohort(ws, _build)
    other = Workspace(ws.engine, None, ws.card, "v2")  # type: ignore[arg-type]
    cache_file(other).write_bytes(cache_file(ws).read_bytes())  # renamed to the other version
    with caplog.at_level(logging.INFO, logger="dashboard.services.cohort.cache"):
        cached_cohort(other, _build)
    assert "failed its integrity check" in caplog.text


def _upload(folder: Path) -> None:
    folder.mkdir(parents=True)
    for name in ("patients.csv", "sessions.csv"):
        source = DATA_SAMPLES_DIR / name
        (folder / name).write_bytes(source.read_bytes())


def test_training_upload_changed_after_sealing_is_refused(tmp_path: Path):
    folder = tmp_path / "jobs" / "abc123"
    _upload(folder)
    seal_upload(folder)
    patients, _ = load_job_data({"source": "upload", "folder": str(folder)})
    assert len(patients) > 0
    text = (folder / "patients.csv").read_text(encoding="utf-8")
    (folder / "patients.csv").write_text(text.replace("true", "false", 1), encoding="utf-8")
    with pytest.raises(ValueError, match="patients.csv .* was changed after upload"):
        load_job_data({"source": "upload", "folder": str(folder)})


def test_training_upload_without_seal_is_refused(tmp_path: Path):
    folder = tmp_path / "jobs" / "abc123"
    _upload(folder)
    with pytest.raises(ValueError, match="no valid seal"):
        load_job_data({"source": "upload", "folder": str(folder)})
