"""Backup and restore of the SQLite store and the model registry, checked end to end.

The database is copied with SQLite's online backup API (a consistent snapshot while the
dashboard keeps running, WAL included), registry versions are copied only after their
SHA-256 manifests check out and are checked again once copied, and ``backup.json`` lists
the SHA-256 of every file in the backup. ``restore`` refuses a backup whose files do not
match, whose database fails SQLite's integrity check or whose audit chain is broken, and
refuses to replace a non-empty store unless forced (the replaced store is kept beside it).
PostgreSQL stores are backed up with the server's own tools (pg_dump), not here.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.engine import make_url

from base import settings
from base.files import sha256_file
from models.registry import CURRENT, Registry, RegistryError
from records import audit
from records.db import make_engine, session_factory
from records.errors import RecordError
from records.migrate import current_revision
from records.policy import AUDIT, Actor
from records.tables import Decision, Patient, TreatmentSession
from records.tables_security import AuditEntry, User

log = logging.getLogger(__name__)

DATABASE_FILE = "kapcds.sqlite3"
REGISTRY_DIR = "registry"
BACKUP_MANIFEST = "backup.json"
FORMAT = 1


class BackupError(RecordError):
    """A backup cannot be made or restored; the message says why and what to do."""


@dataclass
class BackupReport:
    """What a backup holds (or a restore brought back)."""

    folder: str
    revision: str | None
    counts: dict[str, int]
    chain: str
    registry_versions: list[str] = field(default_factory=list)
    current_version: str | None = None


def sqlite_path(url: str) -> Path:
    parsed = make_url(url)
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or database in ("", ":memory:") or \
            database.startswith("file:"):
        raise BackupError(f"backup/restore handles the SQLite store file; for "
                          f"{parsed.get_backend_name()} use the server's tools (pg_dump)")
    return Path(database).expanduser()


def copy_database(source: Path, target: Path, standalone: bool = False) -> None:
    """SQLite online backup: a consistent copy even while other connections write.

    ``standalone`` leaves the copy in rollback-journal mode: one self-contained file (a
    WAL-mode copy would grow -wal/-shm files beside it whenever it is opened).
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(target, timeout=30)
    try:
        src.backup(dst)
        if standalone:
            dst.execute("PRAGMA journal_mode=DELETE")
    finally:
        dst.close()
        src.close()


def store_counts(engine: Engine) -> dict[str, int]:
    """Rows per table that a backup must not lose."""
    with session_factory(engine)() as session:
        return {name: int(session.scalar(select(func.count()).select_from(table)) or 0)
                for name, table in (("patients", Patient), ("sessions", TreatmentSession),
                                    ("decisions", Decision), ("audit_entries", AuditEntry),
                                    ("users", User))}


def chain_report(engine: Engine) -> audit.ChainReport:
    with session_factory(engine)() as session:
        return audit.verify(session)


def registry_versions(root: Path) -> list[str]:
    folder = root / "versions"
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _copy_registry(source: Path, target: Path) -> tuple[list[str], str | None]:
    registry = Registry(source)
    versions = registry_versions(source)
    for version in versions:
        try:
            registry.verify(version)
        except RegistryError as exc:
            raise BackupError(f"registry version {version} fails its manifest check ({exc}); "
                              "fix or remove it before backing up") from exc
        shutil.copytree(source / "versions" / version, target / "versions" / version)
        Registry(target).verify(version)
    current = registry.current_version()
    if current:
        (target / CURRENT).write_text(current + "\n", encoding="utf-8")
    return versions, current


def _check_copy(database: Path) -> tuple[dict[str, int], audit.ChainReport]:
    """Counts and chain of a standalone copy, read from a scratch copy (left untouched)."""
    with tempfile.TemporaryDirectory(prefix="kapcds-check-") as scratch:
        probe = Path(scratch) / DATABASE_FILE
        shutil.copyfile(database, probe)
        engine = make_engine(f"sqlite:///{probe}")
        try:
            return store_counts(engine), chain_report(engine)
        finally:
            engine.dispose()


def backup(out_dir: Path, url: str | None = None, registry_dir: Path | None = None,
           actor: Actor | None = None) -> BackupReport:
    """Write a checked backup of the store and the registry to the new folder ``out_dir``."""
    url = url or settings.default_database_url()
    registry_dir = Path(registry_dir or settings.default_registry_dir())
    database = sqlite_path(url)
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise BackupError(f"{out_dir} is not empty; choose a new folder for the backup")
    if not database.is_file():
        raise BackupError(f"no store at {database}: nothing to back up")
    engine = make_engine(url)
    try:
        revision = current_revision(engine)
        if revision is None:
            raise BackupError(f"{database} is not a KAP-CDS store (no schema revision)")
        audit.record_now(engine, actor or Actor("system:backup", "system"), "backup", AUDIT,
                         detail=f"to {out_dir}")
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.partial-"))
        try:
            copy_database(database, tmp / DATABASE_FILE, standalone=True)
            versions, current = _copy_registry(registry_dir, tmp / REGISTRY_DIR)
            counts, chain = _check_copy(tmp / DATABASE_FILE)
            files = {str(p.relative_to(tmp)): sha256_file(p)
                     for p in sorted(tmp.rglob("*")) if p.is_file()}
            report = BackupReport(str(out_dir), revision, counts, str(chain), versions, current)
            manifest = {"format": FORMAT, "created_utc": datetime.now(timezone.utc).isoformat(),
                        "source_database": str(database), "source_registry": str(registry_dir),
                        **asdict(report), "files": files}
            (tmp / BACKUP_MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
            if out_dir.exists():
                out_dir.rmdir()
            os.rename(tmp, out_dir)
        except BaseException as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            audit.record_now(engine, actor or Actor("system:backup", "system"), "backup",
                             AUDIT, outcome="failure", detail=f"to {out_dir}: {exc}"[:500])
            raise
    finally:
        engine.dispose()
    log.info("backup written to %s: %s", out_dir, report.counts)
    return report


def read_manifest(folder: Path) -> dict[str, Any]:
    """The backup's manifest after checking every listed file's SHA-256."""
    path = Path(folder) / BACKUP_MANIFEST
    if not path.is_file():
        raise BackupError(f"{folder} is not a KAP-CDS backup ({BACKUP_MANIFEST} is missing)")
    manifest = json.loads(path.read_text(encoding="utf-8"))
    for name, expected in manifest.get("files", {}).items():
        file = Path(folder) / name
        if not file.resolve().is_relative_to(Path(folder).resolve()) or not file.is_file():
            raise BackupError(f"backup file {name} is missing")
        if sha256_file(file) != expected:
            raise BackupError(f"backup file {name} does not match its SHA-256 (modified or "
                              "corrupted); not restoring")
    if DATABASE_FILE not in manifest.get("files", {}):
        raise BackupError(f"the backup does not list {DATABASE_FILE}")
    return manifest
