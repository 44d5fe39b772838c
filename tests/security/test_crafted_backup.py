"""Crafted backups are refused before anything is installed; the trust step is explicit;
backups carry the pseudonym key but never the signing key; success is logged after."""

from __future__ import annotations

import hashlib
import json
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from security_helpers import patient, register
from sqlalchemy import Engine
from test_signed_artifacts import Payload, _legacy_version

import records.backup.create as backup_module
from base import settings
from base.signing import SigningKey
from models.store.registry import Registry
from records import repository
from records.audit import trail as audit
from records.backup.create import BackupError, backup, copy_database
from records.backup.restore import restore
from records.db import make_engine, session_factory
from records.migrate import upgrade
from records.security.deidentify import pseudonym_key


@pytest.fixture
def store() -> Engine:
    engine = make_engine()
    upgrade(engine)
    with session_factory(engine)() as db:
        repository.add_patient(db, patient(1))
        db.commit()
    register(settings.default_registry_dir(), "ours")
    yield engine
    engine.dispose()


def _craft(folder: Path, marker: Path, source_db: Path, key: SigningKey | None) -> None:
    """A backup folder with a payload version and a consistent (optionally signed) manifest."""
    folder.mkdir()
    copy_database(source_db, folder / "kapcds.sqlite3", standalone=True)
    _legacy_version(folder / "registry", "20260101T000000Z-evil00", Payload(marker))
    files = {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
             for p in sorted(folder.rglob("*")) if p.is_file()}
    manifest = {"format": 2, "created_utc": "2026-01-01T00:00:00+00:00", "files": files}
    if key is not None:
        manifest = key.sign("backup-manifest", manifest)
    (folder / "backup.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize("signer", ["unsigned", "attacker", "attacker_trusted_wrong_key"])
def test_a_crafted_backup_is_refused_and_its_payload_never_runs(
        store: Engine, tmp_path: Path, signer: str, cli: Callable[..., Any]) -> None:
    marker, crafted = tmp_path / "pwned", tmp_path / "crafted"
    attacker = SigningKey(Ed25519PrivateKey.generate())
    _craft(crafted, marker, settings.home_dir() / "kapcds.sqlite3",
           None if signer == "unsigned" else attacker)
    current_before = Registry(settings.default_registry_dir()).current_version()
    args = ["restore", str(crafted), "--force"]
    if signer == "attacker_trusted_wrong_key":
        other = tmp_path / "other.pub"
        other.write_bytes(SigningKey(Ed25519PrivateKey.generate()).public.pem())
        args += ["--trust-key", str(other)]
    result = cli(*args)
    assert result.returncode == 1
    assert ("is not signed" if signer == "unsigned" else "does not trust") in result.stderr
    assert not marker.exists()
    assert Registry(settings.default_registry_dir()).current_version() == current_before
    assert not (settings.default_registry_dir() / "versions" / "20260101T000000Z-evil00").exists()


def test_a_trusted_backup_with_a_pickled_version_still_never_runs(
        store: Engine, tmp_path: Path) -> None:
    """Trusting the key of a backup does not make a pickle loadable."""
    marker, crafted = tmp_path / "pwned", tmp_path / "crafted"
    attacker = SigningKey(Ed25519PrivateKey.generate())
    _craft(crafted, marker, settings.home_dir() / "kapcds.sqlite3", attacker)
    (tmp_path / "a.pub").write_bytes(attacker.public.pem())
    with pytest.raises(Exception, match="old pickled format"):
        restore(crafted, force=True, trust_key=tmp_path / "a.pub")
    assert not marker.exists()


def test_backup_holds_the_pseudonym_key_but_never_the_signing_key(
        store: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = pseudonym_key()
    backup(tmp_path / "bk")
    signing = settings.signing_key_file().read_bytes()
    files = [p for p in (tmp_path / "bk").rglob("*") if p.is_file()]
    assert not any(signing in p.read_bytes() for p in files)
    assert not any("signing" in p.name for p in files)
    saved = tmp_path / "bk" / "pseudonym.key"
    assert saved.read_bytes().strip() == key and stat.S_IMODE(saved.stat().st_mode) == 0o600
    public = settings.signing_key_file().with_name("signing.pub")
    monkeypatch.setenv("KAPCDS_HOME", str(tmp_path / "new-home"))
    restore(tmp_path / "bk", trust_key=public)
    assert pseudonym_key() == key  # pseudonyms are the same after the restore


def test_backup_success_is_logged_only_after_it_ran(
        store: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = backup_module._copy_registry

    def broken(*args: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(backup_module, "_copy_registry", broken)
    with pytest.raises(OSError, match="disk full"):
        backup(tmp_path / "bk")
    monkeypatch.setattr(backup_module, "_copy_registry", real)
    with session_factory(store)() as db:
        entries = [e for e in audit.iter_entries(db) if e["action"] == "backup"]
    assert [e["outcome"] for e in entries] == ["failure"]
    assert not (tmp_path / "bk").exists()
    backup(tmp_path / "bk2")
    with session_factory(store)() as db:
        entries = [e for e in audit.iter_entries(db) if e["action"] == "backup"]
    assert [e["outcome"] for e in entries] == ["failure", "success"]
    assert "'patients': 1" in entries[-1]["detail"]


def test_restore_refuses_to_replace_another_pseudonym_key_unless_forced(
        store: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old = pseudonym_key()
    backup(tmp_path / "bk")
    public = settings.signing_key_file().with_name("signing.pub")
    monkeypatch.setenv("KAPCDS_HOME", str(tmp_path / "new-home"))
    key_file = settings.home_dir() / "pseudonym.key"
    key_file.parent.mkdir(parents=True)
    key_file.write_text("another key")
    with pytest.raises(BackupError, match="another pseudonym key; restore with --force"):
        restore(tmp_path / "bk", trust_key=public)
    assert not (settings.home_dir() / "kapcds.sqlite3").exists()
    restore(tmp_path / "bk", force=True, trust_key=public)
    assert pseudonym_key() == old
    assert list(settings.home_dir().glob("before-restore-*/pseudonym.key"))  # issue 24
