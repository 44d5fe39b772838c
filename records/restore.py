"""Restore a backup made by ``records.backup`` (see there for what is checked and why)."""

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
from models.registry import Registry
from records import audit
from records.backup import (
    DATABASE_FILE,
    REGISTRY_DIR,
    BackupError,
    BackupReport,
    chain_report,
    copy_database,
    read_manifest,
    registry_versions,
    sqlite_path,
    store_counts,
)
from records.db import make_engine
from records.migrate import current_revision, upgrade
from records.policy import AUDIT, Actor

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


def _restore_registry(source: Path, target: Path, force: bool) -> tuple[list[str], str | None]:
    versions = registry_versions(source)
    backup_registry, registry = Registry(source), Registry(target)
    (target / "versions").mkdir(parents=True, exist_ok=True)
    for version in versions:
        backup_registry.verify(version)
        dest = target / "versions" / version
        if dest.exists():
            same = (dest / "manifest.json").read_bytes() == (
                source / "versions" / version / "manifest.json").read_bytes()
            if same:
                registry.verify(version)
                continue
            if not force:
                raise BackupError(f"registry version {version} exists with other contents; "
                                  "restore with --force to replace it")
            os.rename(dest, dest.with_name(f".replaced-{version}-{_stamp()}"))
        tmp = Path(tempfile.mkdtemp(dir=target / "versions", prefix=f".tmp-restore-{version}-"))
        shutil.copytree(source / "versions" / version, tmp, dirs_exist_ok=True)
        os.rename(tmp, dest)
        registry.verify(version)
    current = backup_registry.current_version()
    if current:
        registry.promote(current)
    return versions, current


def restore(folder: Path, url: str | None = None, registry_dir: Path | None = None,
            force: bool = False, actor: Actor | None = None) -> BackupReport:
    """Bring back the store and the registry from a checked backup folder."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    url = url or settings.default_database_url()
    registry_dir = Path(registry_dir or settings.default_registry_dir())
    target = sqlite_path(url)
    with tempfile.TemporaryDirectory(prefix="kapcds-restore-") as staging:
        staged = _staged_database(folder, manifest["files"][DATABASE_FILE], Path(staging))
        _check_target(target, force)
        copy_database(staged, target)
    versions, current = _restore_registry(folder / REGISTRY_DIR, registry_dir, force)
    engine = make_engine(url)
    try:
        upgrade(engine)
        audit.record_now(engine, actor or Actor("system:restore", "system"), "restore", AUDIT,
                         detail=f"from {folder} (backup of {manifest.get('created_utc')})")
        report = BackupReport(str(target), current_revision(engine), store_counts(engine),
                              str(chain_report(engine)), versions, current)
    finally:
        engine.dispose()
    log.info("restored %s into %s: %s", folder, target, report.counts)
    return report
