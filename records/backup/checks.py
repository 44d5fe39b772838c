"""The checks a restore runs before it changes anything (issue 24: all or nothing).

``check_backup`` verifies the manifest's signature and every listed hash, that the backup
holds no file its manifest does not list, SQLite's integrity check and the audit chain of a
private copy of the database, every registry version and the signed promotion record, and
every conflict with what is here; it returns the ``Plan`` that ``records.backup.restore``
then carries out without further decisions.
"""

from __future__ import annotations

import shutil
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from base import settings
from base.files import sha256_file
from base.signing import PublicKey, installation_key
from models.store.registry import MANIFEST, Registry, RegistryError
from records.backup.create import (
    BACKUP_MANIFEST,
    DATABASE_FILE,
    PSEUDONYM_KEY_FILE,
    REGISTRY_DIR,
    BackupError,
    chain_report,
    read_manifest,
    registry_versions,
    store_counts,
)
from records.db import make_engine
from records.migrate import current_revision


@dataclass
class Plan:
    """What the checks found, so that applying the restore needs no further decision."""

    manifest: dict[str, Any]
    staged: Path
    trusted: list[PublicKey]
    versions: list[str]
    replace_versions: list[str] = field(default_factory=list)
    current: str | None = None
    keep_store: bool = False
    replace_key: bool = False


def check_listed(folder: Path, manifest: dict[str, Any]) -> None:
    """Every file in the backup is listed in its signed manifest (nothing planted)."""
    listed = set(manifest["files"]) | {BACKUP_MANIFEST}
    extra = sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                   if (p.is_file() or p.is_symlink()) and str(p.relative_to(folder))
                   not in listed)
    if extra:
        raise BackupError(f"the backup holds {len(extra)} file(s) its signed manifest does not "
                          f"list ({', '.join(extra[:5])}); not restoring anything")


def staged_database(folder: Path, expected_sha: str, staging: Path) -> Path:
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


def store_has_data(target: Path, force: bool) -> bool:
    """Whether the store holds data (refused unless forced)."""
    if not target.is_file():
        return False
    engine = make_engine(f"sqlite:///{target}")
    try:
        counts = store_counts(engine) if current_revision(engine) else {}
    finally:
        engine.dispose()
    if any(counts.values()) and not force:
        raise BackupError(f"the store {target} already holds data ({counts}); restore with "
                          "--force to replace it (a copy of it is kept beside it)")
    return any(counts.values())


def check_registry(source: Path, target: Path, force: bool, plan: Plan) -> None:
    """Every version signed by a trusted key with matching hashes, the promotion record
    signed, and no conflicting version here unless forced."""
    backup_registry = Registry(source, key=installation_key(), trusted=plan.trusted)
    try:
        for version in plan.versions:
            backup_registry.read_verified(version)
            dest = target / "versions" / version
            if dest.exists():
                if (dest / MANIFEST).read_bytes() == (source / "versions" / version
                                                      / MANIFEST).read_bytes():
                    Registry(target).verify(version)
                    continue
                if not force:
                    raise BackupError(f"registry version {version} exists with other contents;"
                                      " restore with --force to replace it")
                plan.replace_versions.append(version)
        plan.current = backup_registry.current_version()
    except RegistryError as exc:
        raise BackupError(f"the backup's registry is refused: {exc}; not restoring") from exc
    if plan.current is not None and plan.current not in plan.versions:
        raise BackupError(f"the backup's promotion record names {plan.current}, which the "
                          "backup does not hold; not restoring")


def check_pseudonym_key(folder: Path, manifest: dict, force: bool) -> bool:
    """Whether another pseudonym key here is to be replaced (refused unless forced)."""
    from records.security.deidentify import KEY_FILE

    if PSEUDONYM_KEY_FILE not in manifest["files"]:
        return False
    target = settings.home_dir() / KEY_FILE
    if target.is_file() and target.read_bytes() != (folder / PSEUDONYM_KEY_FILE).read_bytes():
        if not force:
            raise BackupError(f"{target} holds another pseudonym key; restore with --force "
                              "to replace it (the old one is kept beside it)")
        return True
    return False


def check_backup(folder: Path, target: Path, registry_dir: Path, force: bool,
           trusted: list[PublicKey], staging: Path) -> Plan:
    """Every check, nothing changed."""
    manifest = read_manifest(folder, trusted)
    check_listed(folder, manifest)
    staged = staged_database(folder, manifest["files"][DATABASE_FILE], staging)
    plan = Plan(manifest, staged, trusted, registry_versions(folder / REGISTRY_DIR))
    check_registry(folder / REGISTRY_DIR, registry_dir, force, plan)
    plan.replace_key = check_pseudonym_key(folder, manifest, force)
    plan.keep_store = store_has_data(target, force)
    return plan
