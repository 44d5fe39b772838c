"""Restore a backup made by ``records.backup.create`` (see there for what is checked and why).

Trust: a backup is accepted only when its manifest is signed by this installation's key,
or by the key named with ``trust_key`` (``kapcds restore DIR --trust-key FILE``, the other
installation's ``signing.pub``). That explicit step is logged and audited; the restored
registry versions are then re-signed with this installation's key, so later loads trust
only the local key.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from base import settings
from base.files import sha256_file
from base.signing import PublicKey, installation_key, read_public_key
from models.store.promotion import PromotionAudit
from models.store.registry import MANIFEST, Registry, sign_manifest
from records.audit import trail as audit
from records.audit.registry_events import promotion_audit
from records.backup.create import (
    DATABASE_FILE,
    PSEUDONYM_KEY_FILE,
    REGISTRY_DIR,
    BackupError,
    BackupReport,
    chain_report,
    copy_database,
    copy_version,
    read_manifest,
    registry_versions,
    sqlite_path,
    store_counts,
)
from records.db import make_engine
from records.migrate import current_revision, upgrade
from records.security.policy import AUDIT, Actor

log = logging.getLogger(__name__)


def _stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _staged_database(folder: Path, expected_sha: str, staging: Path) -> Path:
    """A private copy of the backup's database, checked (the backup folder is not touched)."""
    staged = staging / DATABASE_FILE
    shutil.copyfile(folder / DATABASE_FILE, staged)
    if sha256_file(staged) != expected_sha:
        raise BackupError("the backup database changed while it was being read; try again")
    conn = sqlite3.connect(staged)
    try:
        result = conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()
    if result != "ok":
        raise BackupError(f"the backup database fails SQLite's integrity check: {result}")
    engine = make_engine(f"sqlite:///{staged}")
    try:
        chain = chain_report(engine)
    finally:
        engine.dispose()
    if not chain.ok:
        raise BackupError(f"the backup's audit trail does not verify ({chain}); not restoring")
    return staged


def _check_target(target: Path, force: bool) -> None:
    """Refuse to replace a store holding data unless forced; then keep a copy of it."""
    if not target.is_file():
        return
    engine = make_engine(f"sqlite:///{target}")
    try:
        counts = store_counts(engine) if current_revision(engine) else {}
    finally:
        engine.dispose()
    if any(counts.values()) and not force:
        raise BackupError(f"the store {target} already holds data ({counts}); restore with "
                          "--force to replace it (a copy of it is kept beside it)")
    if any(counts.values()):
        keep = target.with_name(f"{target.name}.before-restore-{_stamp()}")
        copy_database(target, keep)
        log.warning("kept the replaced store as %s", keep)


def _restore_registry(source: Path, target: Path, force: bool,
                      trusted: list[PublicKey], audit: PromotionAudit,
                      by: str) -> tuple[list[str], str | None]:
    versions = registry_versions(source)
    key = installation_key()
    backup_registry = Registry(source, key=key, trusted=trusted)
    registry = Registry(target, key=key)
    (target / "versions").mkdir(parents=True, exist_ok=True)
    for version in versions:
        manifest, _ = backup_registry.read_verified(version)
        dest = target / "versions" / version
        if dest.exists():
            same = (dest / MANIFEST).read_bytes() == (
                source / "versions" / version / MANIFEST).read_bytes()
            if same:
                registry.verify(version)
                continue
            if not force:
                raise BackupError(f"registry version {version} exists with other contents; "
                                  "restore with --force to replace it")
            os.rename(dest, dest.with_name(f".replaced-{version}-{_stamp()}"))
        tmp = Path(tempfile.mkdtemp(dir=target / "versions", prefix=f".tmp-restore-{version}-"))
        copy_version(source / "versions" / version, tmp)
        if manifest["signature"]["key_id"] != key.key_id:
            _check_copied(tmp, manifest)
            sign_manifest(tmp, version, key)  # vouched for by the explicit trust step
        os.rename(tmp, dest)
        registry.verify(version)
    current = backup_registry.current_version()
    if current:
        registry.promote(current, by=by, reason="restored from a backup", audit=audit)
    return versions, current


def _check_copied(folder: Path, manifest: dict) -> None:
    """The copy holds exactly the checked files (nothing changed while copying)."""
    for name, expected in manifest["files"].items():
        if sha256_file(folder / name) != expected:
            raise BackupError(f"{folder.name}: {name} changed while it was copied; try again")


def _restore_pseudonym_key(folder: Path, manifest: dict, force: bool) -> None:
    """Put the backup's pseudonym key in place (pseudonyms stay the same)."""
    from records.security.deidentify import KEY_FILE

    if PSEUDONYM_KEY_FILE not in manifest["files"]:
        return
    data = (folder / PSEUDONYM_KEY_FILE).read_bytes()
    target = settings.home_dir() / KEY_FILE
    if target.is_file() and target.read_bytes() != data:
        if not force:
            raise BackupError(f"{target} holds another pseudonym key; restore with --force "
                              "to replace it (the old one is kept beside it)")
        os.rename(target, target.with_name(f"{KEY_FILE}.before-restore-{_stamp()}"))
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)


def _trusted(trust_key: Path | None) -> tuple[list[PublicKey], str]:
    own = installation_key().public
    if trust_key is None:
        return [own], ""
    other = read_public_key(trust_key)
    log.warning("restore trusts the signing key %s from %s", other.key_id, trust_key)
    return [own, other], f"; trusting key {other.key_id} from {trust_key}"


def restore(folder: Path, url: str | None = None, registry_dir: Path | None = None,
            force: bool = False, actor: Actor | None = None,
            trust_key: Path | None = None) -> BackupReport:
    """Bring back the store and the registry from a checked, signed backup folder.

    ``trust_key``: a public key file of another installation whose backups are accepted.
    """
    folder = Path(folder)
    trusted, trust_note = _trusted(trust_key)
    manifest = read_manifest(folder, trusted)
    url = url or settings.default_database_url()
    registry_dir = Path(registry_dir or settings.default_registry_dir())
    target = sqlite_path(url)
    with tempfile.TemporaryDirectory(prefix="kapcds-restore-") as staging:
        staged = _staged_database(folder, manifest["files"][DATABASE_FILE], Path(staging))
        _check_target(target, force)
        _restore_pseudonym_key(folder, manifest, force)
        copy_database(staged, target)
    actor = actor or Actor("system:restore", "system")
    engine = make_engine(url)
    try:
        upgrade(engine)
        versions, current = _restore_registry(folder / REGISTRY_DIR, registry_dir, force,
                                              trusted, promotion_audit(engine, actor),
                                              actor.username)
        audit.record_now(engine, actor, "restore", AUDIT,
                         detail=f"from {folder} (backup of {manifest.get('created_utc')}, "
                         f"signed by key {manifest['signed_by']}){trust_note}")
        report = BackupReport(str(target), current_revision(engine), store_counts(engine),
                              str(chain_report(engine)), versions, current)
    finally:
        engine.dispose()
    log.info("restored %s into %s: %s", folder, target, report.counts)
    return report
