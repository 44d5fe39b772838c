"""Backup and restore of the SQLite store and the model registry, checked end to end.

The database is copied with SQLite's online backup API (a consistent snapshot while the
dashboard keeps running, WAL included), registry versions are copied only after their
SHA-256 manifests check out and are checked again once copied, and ``backup.json`` lists
the SHA-256 of every file in the backup and is signed with this installation's key
(``base.signing``; the key itself is never part of a backup). The pseudonym key is
included (``pseudonym.key``), so pseudonyms stay the same after a restore. ``restore``
refuses a backup that is not signed by a trusted key, whose files do not match, whose
database fails SQLite's integrity check or whose audit chain is broken, and refuses to
replace a non-empty store unless forced (the replaced store is kept beside it).
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
from base.signing import PublicKey, SignatureError, installation_key, verify_document
from models.store.registry import CURRENT, MANIFEST, Registry, RegistryError
from records.audit import trail as audit
from records.db import make_engine, session_factory
from records.errors import RecordError
from records.migrate import current_revision
from records.security.policy import AUDIT, Actor
from records.tables.clinical import Decision, Patient, TreatmentSession
from records.tables.followup import FollowupDose, FollowupVisit, MaintenancePlan
from records.tables.lifecycle import PredictionShown, TrainingJob
from records.tables.proms import PromAlert, PromInvitation, PromSchedule, PromSubmission
from records.tables.security import AuditEntry, User

log = logging.getLogger(__name__)

DATABASE_FILE = "kapcds.sqlite3"
REGISTRY_DIR = "registry"
BACKUP_MANIFEST = "backup.json"
PSEUDONYM_KEY_FILE = "pseudonym.key"
FORMAT = 2  # 2: signed manifest, pseudonym key included
PURPOSE = "backup-manifest"


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
                                    ("users", User), ("predictions_shown", PredictionShown),
                                    ("training_jobs", TrainingJob),
                                    ("followup_visits", FollowupVisit),
                                    ("followup_doses", FollowupDose),
                                    ("maintenance_plans", MaintenancePlan),
                                    ("prom_schedules", PromSchedule),
                                    ("prom_invitations", PromInvitation),
                                    ("prom_submissions", PromSubmission),
                                    ("prom_alerts", PromAlert))}


def chain_report(engine: Engine) -> audit.ChainReport:
    """The chain of a scratch copy, checked against itself (a copy is not the anchored
    store; the live store's own verification is ``kapcds audit verify``)."""
    with session_factory(engine)() as session:
        return audit.verify(session, anchored_only=False)


def registry_versions(root: Path) -> list[str]:
    folder = root / "versions"
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def copy_version(source: Path, target: Path) -> None:
    """Copy a version's manifest and the files it lists, nothing else."""
    files = json.loads((source / MANIFEST).read_text(encoding="utf-8"))["files"]
    target.mkdir(parents=True, exist_ok=True)
    for name in [*files, MANIFEST]:
        if Path(name).name != name:
            raise BackupError(f"{source.name}: unsafe file name {name!r} in its manifest")
        shutil.copyfile(source / name, target / name)


def _copy_pseudonym_key(target: Path) -> str:
    """Put the pseudonym key file in the backup (0600); say where the key came from."""
    from records.security.deidentify import KEY_FILE, KEY_VARIABLE

    if os.environ.get(KEY_VARIABLE):
        return f"from {KEY_VARIABLE} (not in the backup: keep it where it is set)"
    source = settings.home_dir() / KEY_FILE
    if not source.is_file():
        return "none yet"
    fd = os.open(target / PSEUDONYM_KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(source.read_bytes())
    return "included"


def _copy_registry(source: Path, target: Path) -> tuple[list[str], str | None]:
    registry = Registry(source)
    versions = registry_versions(source)
    for version in versions:
        try:
            registry.verify(version)
        except RegistryError as exc:
            raise BackupError(f"registry version {version} fails its manifest check ({exc}); "
                              "fix or remove it before backing up") from exc
        copy_version(source / "versions" / version, target / "versions" / version)
        Registry(target).verify(version)
    current = registry.current_version()
    if current:  # the signed promotion record itself (who, when, why)
        shutil.copyfile(source / CURRENT, target / CURRENT)
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
        try:
            report = _write_backup(database, registry_dir, out_dir, revision)
        except BaseException as exc:
            audit.record_now(engine, actor or Actor("system:backup", "system"), "backup",
                             AUDIT, outcome="failure", detail=f"to {out_dir}: {exc}"[:500])
            raise
        # Logged once the backup exists; the entry is in the live store, not in the backup.
        audit.record_now(engine, actor or Actor("system:backup", "system"), "backup", AUDIT,
                         detail=f"to {out_dir}: {report.counts}")
    finally:
        engine.dispose()
    log.info("backup written to %s: %s", out_dir, report.counts)
    return report


def _write_backup(database: Path, registry_dir: Path, out_dir: Path,
                  revision: str) -> BackupReport:
    """Copy, check, list and sign into a temporary folder, then rename it to ``out_dir``."""
    key = installation_key()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.partial-"))
    try:
        copy_database(database, tmp / DATABASE_FILE, standalone=True)
        versions, current = _copy_registry(registry_dir, tmp / REGISTRY_DIR)
        pseudonym_key = _copy_pseudonym_key(tmp)
        counts, chain = _check_copy(tmp / DATABASE_FILE)
        files = {str(p.relative_to(tmp)): sha256_file(p)
                 for p in sorted(tmp.rglob("*")) if p.is_file()}
        report = BackupReport(str(out_dir), revision, counts, str(chain), versions, current)
        manifest = key.sign(PURPOSE, {
            "format": FORMAT, "created_utc": datetime.now(timezone.utc).isoformat(),
            "source_database": str(database), "source_registry": str(registry_dir),
            "pseudonym_key": pseudonym_key, **asdict(report), "files": files})
        (tmp / BACKUP_MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        if out_dir.exists():
            out_dir.rmdir()
        os.rename(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return report


def read_manifest(folder: Path, trusted: list[PublicKey] | None = None) -> dict[str, Any]:
    """The backup's manifest after checking its signature and every listed file's SHA-256.

    ``trusted``: the public keys accepted (default: this installation's own key).
    """
    path = Path(folder) / BACKUP_MANIFEST
    if not path.is_file():
        raise BackupError(f"{folder} is not a KAP-CDS backup ({BACKUP_MANIFEST} is missing)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
            raise ValueError("no file list")
    except ValueError as exc:
        raise BackupError(f"{BACKUP_MANIFEST} is unreadable: {exc}") from exc
    keys = trusted if trusted is not None else [installation_key().public]
    try:
        signer = verify_document(PURPOSE, manifest, keys)
    except SignatureError as exc:
        raise BackupError(
            f"the backup is refused ({BACKUP_MANIFEST}: {exc}). A backup made by another "
            "installation is restored only with --trust-key naming that installation's "
            "signing.pub; an unsigned one was made before backups were signed or crafted"
        ) from exc
    manifest["signed_by"] = signer.key_id
    for name, expected in manifest["files"].items():
        file = Path(folder) / name
        if not file.resolve().is_relative_to(Path(folder).resolve()) or not file.is_file():
            raise BackupError(f"backup file {name} is missing")
        if sha256_file(file) != expected:
            raise BackupError(f"backup file {name} does not match its SHA-256 (modified or "
                              "corrupted); not restoring")
    if DATABASE_FILE not in manifest["files"]:
        raise BackupError(f"the backup does not list {DATABASE_FILE}")
    return manifest
