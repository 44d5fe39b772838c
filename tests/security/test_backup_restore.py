"""Backups: restore brings back every patient, session, decision, account and audit entry
(the chain still verifies) and the registry (the current model still loads)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from security_helpers import patient, register
from sqlalchemy import Engine

from base import settings
from base.signing import installation_key
from models.store.registry import Registry
from records import repository
from records.audit import trail as audit
from records.backup.create import BackupError, backup, sha256_file, store_counts
from records.backup.restore import restore
from records.db import make_engine, session_factory
from records.jobs import submit_job
from records.migrate import upgrade
from records.predictions import record_prediction
from records.security.policy import IDENTIFIED, Actor
from records.security.users import authenticate, create_user

DR = Actor("dr.rivera", "clinician")


def _session(number: int) -> dict[str, Any]:
    return {"session_number": number, "day": 3 * number, "route": "iv", "dose_mg_per_kg": 0.5,
            "phq9": 18 - number, "phq9_item9": 0, "gad7": 10, "pcl5": None, "cssrs": 0,
            "sbp_pre": 122, "dbp_pre": 78, "hr_pre": 72, "sbp_post": 138, "dbp_post": 86,
            "hr_post": 80, "cadss": 8, "nausea": False, "vomiting": False, "headache": False,
            "dizziness": False, "sedation": True, "minutes_to_discharge": 95,
            "dropout_after": False, "notes": f"session {number}",
            "session_at": datetime(2026, 3, number, 9, 30, tzinfo=timezone.utc),
            "carried_forward": {"route": f"session {number - 1}"} if number > 1 else {}}


DOSE = datetime(2026, 3, 2, 9, 40, tzinfo=timezone.utc)
MONITORING: dict[str, Any] = {
    "sbp_discharge": 126, "dbp_discharge": 80, "spo2_lowest": 96, "moaas_post": 4,
    "moaas_discharge": 5, "dissociation_discharge": False, "respiratory_depression": False,
    "serious_adverse_event": True, "sae_description": "fainted in the chair",
    "cm_benzodiazepine": True, "cm_hypnotic": False, "cm_psychostimulant": False,
    "cm_maoi": False, "product": "ketamine 50 mg/ml", "lot_number": "K-118",
    "dose_at": DOSE, "ready_at": DOSE + timedelta(minutes=95)}


def _fill(engine: Engine) -> None:
    with session_factory(engine)() as db:
        for n in range(1, 4):
            repository.add_patient(db, patient(n))
            repository.add_session(db, f"KAP-{n:05d}", _session(1))
            audit.record(db, DR, "patient_create", IDENTIFIED, patient_id=f"KAP-{n:05d}")
        repository.add_session(db, "KAP-00001", {**_session(2), **MONITORING},
                               require_monitoring=True)  # the REMS-style record (0009)
        repository.record_decision(db, "KAP-00001", decision="proceed", suggested="proceed",
                                   clinician="Dr Rivera", role="clinician")
        create_user(db, "alice", "a long enough pass", "clinician", DR)
        record_prediction(db, patient_id="KAP-00001", model_version="v1", inputs={"age": 40},
                          probabilities={"response": 0.4}, intervals=None, context="viewed",
                          username="dr.rivera")
        submit_job(db, "ana", "data_samples/", {"source": "data_samples/"}, {"seed": 0})
        db.commit()


def _frames(engine: Engine) -> tuple[pd.DataFrame, pd.DataFrame]:
    with session_factory(engine)() as db:
        return repository.patients_frame(db), repository.sessions_frame(db)


@pytest.fixture
def store() -> Engine:
    engine = make_engine()
    upgrade(engine)
    _fill(engine)
    register(settings.default_registry_dir(), "backed-up")
    yield engine
    engine.dispose()


def test_restore_into_a_new_machine_loses_nothing(store: Engine, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    before_counts, (patients, sessions) = store_counts(store), _frames(store)
    report = backup(tmp_path / "bk")
    assert report.counts == before_counts  # the backup is audited once it exists, after it
    assert report.counts["predictions_shown"] == 1 and report.counts["training_jobs"] == 1
    assert report.chain.startswith("OK") and len(report.registry_versions) == 1
    manifest = json.loads((tmp_path / "bk" / "backup.json").read_text())
    assert "kapcds.sqlite3" in manifest["files"] and len(manifest["files"]) == 7
    old_public_key = settings.signing_key_file().with_name("signing.pub")

    monkeypatch.setenv("KAPCDS_HOME", str(tmp_path / "new-home"))  # a new machine, new key
    with pytest.raises(BackupError, match="does not trust.*--trust-key"):
        restore(tmp_path / "bk")
    restored = restore(tmp_path / "bk", trust_key=old_public_key)
    assert restored.current_version == report.current_version
    assert sorted(p.name for p in (tmp_path / "bk").iterdir()) == [
        "backup.json", "kapcds.sqlite3", "registry"]  # one self-contained file, untouched
    engine = make_engine()
    try:
        counts = store_counts(engine)
        # issue 24: the restored promotion is audited (model_promotion) besides the restore
        assert counts == {**report.counts, "audit_entries": report.counts["audit_entries"] + 2}
        new_patients, new_sessions = _frames(engine)
        pd.testing.assert_frame_equal(new_patients, patients)
        pd.testing.assert_frame_equal(new_sessions, sessions)
        kept = new_sessions.set_index(["patient_id", "session_number"]).loc[("KAP-00001", 2)]
        assert kept["ready_at"] == pd.Timestamp(MONITORING["ready_at"])  # the monitoring
        assert (kept["lot_number"], kept["spo2_lowest"]) == ("K-118", 96)  # record is back
        with session_factory(engine)() as db:
            assert audit.verify(db).ok
            assert [d.decision for d in repository.decisions_for(db, "KAP-00001")] == [
                "proceed"]
            assert authenticate(db, "alice", "a long enough pass").ok
            entries = list(audit.iter_entries(db))
            assert [e["action"] for e in entries][-3:] == [  # issue 24: promotion audited
                "restore", "model_promotion", "login"]
            assert f"trusting key {manifest['signature']['key_id']}" in entries[-3]["detail"]
    finally:
        engine.dispose()
    model_set, _ = Registry(settings.default_registry_dir()).load()
    assert model_set.train_summary == {"tag": "backed-up"}


def test_a_store_with_data_is_replaced_only_when_forced(store: Engine, tmp_path: Path) -> None:
    backup(tmp_path / "bk")
    with session_factory(store)() as db:
        repository.add_patient(db, patient(9))
        db.commit()
    with pytest.raises(BackupError, match="already holds data.*--force"):
        restore(tmp_path / "bk")
    restore(tmp_path / "bk", force=True)
    kept = list(settings.home_dir().glob("before-restore-*/kapcds.sqlite3"))  # issue 24
    assert len(kept) == 1
    with session_factory(store)() as db:
        assert repository.get_patient(db, "KAP-00009") is None
        assert audit.verify(db).ok
    conn = sqlite3.connect(kept[0])
    try:
        assert conn.execute("SELECT count(*) FROM patients").fetchone()[0] == 4
    finally:
        conn.close()


def test_a_tampered_backup_is_refused(store: Engine, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    backup(tmp_path / "bk")
    card = next((tmp_path / "bk" / "registry" / "versions").iterdir()) / "model_card.json"
    card.write_text(card.read_text() + " ")
    monkeypatch.setenv("KAPCDS_SIGNING_KEY_FILE", str(settings.signing_key_file()))
    monkeypatch.setenv("KAPCDS_HOME", str(tmp_path / "other"))
    with pytest.raises(BackupError, match="model_card.json does not match its SHA-256"):
        restore(tmp_path / "bk")
    assert not (tmp_path / "other" / "kapcds.sqlite3").exists()


def test_a_backup_with_a_broken_audit_chain_is_refused(store: Engine, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    backup(tmp_path / "bk")
    database = tmp_path / "bk" / "kapcds.sqlite3"
    conn = sqlite3.connect(database)  # someone edits history inside the backup…
    conn.execute("DROP TRIGGER audit_log_no_update")
    conn.execute("UPDATE audit_log SET patient_id = 'KAP-00003' WHERE id = 1")
    conn.commit()
    conn.close()
    manifest_path = tmp_path / "bk" / "backup.json"  # …and even fixes the file hash…
    manifest = json.loads(manifest_path.read_text())
    manifest["files"]["kapcds.sqlite3"] = sha256_file(database)
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(BackupError, match="signature by key .* does not verify"):
        restore(tmp_path / "bk")
    # …and, holding this installation's signing key, even re-signs the manifest.
    manifest_path.write_text(json.dumps(installation_key().sign("backup-manifest", manifest)))
    monkeypatch.setenv("KAPCDS_SIGNING_KEY_FILE", str(settings.signing_key_file()))
    monkeypatch.setenv("KAPCDS_HOME", str(tmp_path / "other"))
    with pytest.raises(BackupError, match="audit trail does not verify.*entry 1"):
        restore(tmp_path / "bk")


def test_backup_refuses_what_it_cannot_do(store: Engine, tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(BackupError, match="not empty"):
        backup(tmp_path / "full")
    with pytest.raises(BackupError, match="pg_dump"):
        backup(tmp_path / "pg", url="postgresql+psycopg://u:p@localhost/db")
    with pytest.raises(BackupError, match="not a KAP-CDS backup"):
        restore(tmp_path / "full")


def test_cli_backup_and_restore(store: Engine, tmp_path: Path, cli: Callable[..., Any],
                                monkeypatch: pytest.MonkeyPatch) -> None:
    made = cli("backup", "--out", str(tmp_path / "bk"))
    assert made.returncode == 0, made.stderr
    assert "'patients': 3" in made.stdout and "OK:" in made.stdout
    public_key = settings.signing_key_file().with_name("signing.pub")
    monkeypatch.setenv("KAPCDS_HOME", str(tmp_path / "new-home"))
    refused = cli("restore", str(tmp_path / "bk"))
    assert refused.returncode == 1 and "--trust-key" in refused.stderr
    back = cli("restore", str(tmp_path / "bk"), "--trust-key", str(public_key),
               "--registry", str(tmp_path / "new-home" / "registry"))
    assert back.returncode == 0, back.stderr
    assert "'patients': 3" in back.stdout and "hash chain intact" in back.stdout
    again = cli("restore", str(tmp_path / "bk"), "--trust-key", str(public_key))
    assert again.returncode == 1 and "--force" in again.stderr
