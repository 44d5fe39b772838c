"""Restore a backup made by ``records.backup.create`` (see there for what is checked and why).

Trust: a backup is accepted only when its manifest is signed by this installation's key,
or by the key named with ``trust_key`` (``kapcds restore DIR --trust-key FILE``, the other
installation's ``signing.pub``). That explicit step is logged and audited; the restored
registry versions are then re-signed with this installation's key, so later loads trust
only the local key.

All or nothing (issue 24): every check runs before the first byte is replaced: the
manifest's signature and every listed hash, no file in the backup that the manifest does
not list, SQLite's integrity check and the audit chain of the backup's database, every
registry version's signature and hashes, the signed promotion record, and every conflict
with what is already here (a store with data, another pseudonym key, a registry version
with other contents) unless ``force``. The replaced store and key are kept owner-only
(0600) in a ``before-restore-<time>`` folder (0700). A refused restore is audited in the
live store, which it left untouched.
"""

from __future__ import annotations

import logging
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from base import settings
from base.files import sha256_file
from base.signing import PublicKey, installation_key, read_public_key
from models.store.registry import Registry, sign_manifest
from records.audit import trail as audit
from records.audit.registry_events import promotion_audit
from records.backup.checks import Plan, check_backup
from records.backup.create import (
    PSEUDONYM_KEY_FILE,
    REGISTRY_DIR,
    BackupError,
    BackupReport,
    chain_report,
    copy_database,
    copy_version,
    sqlite_path,
    store_counts,
)
from records.db import make_engine
from records.migrate import current_revision, upgrade
from records.security.policy import AUDIT, Actor

log = logging.getLogger(__name__)


def _stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _private_copy(source: Path, target: Path) -> None:
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(source.read_bytes())


def _keep_aside(target: Path, plan: Plan) -> Path | None:
    """The replaced store (and pseudonym key) copied into a new 0700 folder, files 0600."""
    from records.security.deidentify import KEY_FILE

    if not plan.keep_store and not plan.replace_key:
        return None
    keep = target.parent / f"before-restore-{_stamp()}"
    keep.mkdir(mode=0o700)
    os.chmod(keep, 0o700)
    if plan.keep_store:
        os.close(os.open(keep / target.name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        copy_database(target, keep / target.name)
        os.chmod(keep / target.name, 0o600)
    if plan.replace_key:
        key_file = settings.home_dir() / KEY_FILE
        _private_copy(key_file, keep / KEY_FILE)
        key_file.unlink()
    log.warning("kept the replaced store in %s (owner-only)", keep)
    return keep


def _apply_pseudonym_key(folder: Path, manifest: dict) -> None:
    from records.security.deidentify import KEY_FILE

    target = settings.home_dir() / KEY_FILE
    if PSEUDONYM_KEY_FILE in manifest["files"] and not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        _private_copy(folder / PSEUDONYM_KEY_FILE, target)


def _apply_registry(source: Path, target: Path, plan: Plan) -> None:
    key = installation_key()
    registry = Registry(target, key=key)
    (target / "versions").mkdir(parents=True, exist_ok=True)
    for version in plan.versions:
        dest = target / "versions" / version
        if dest.exists() and version not in plan.replace_versions:
            continue
        if dest.exists():
            os.rename(dest, dest.with_name(f".replaced-{version}-{_stamp()}"))
        tmp = Path(tempfile.mkdtemp(dir=target / "versions", prefix=f".tmp-restore-{version}-"))
        copy_version(source / "versions" / version, tmp)
        manifest, _ = Registry(source, key=key, trusted=plan.trusted).read_verified(version)
        if manifest["signature"]["key_id"] != key.key_id:
            _check_copied(tmp, manifest)
            sign_manifest(tmp, version, key)  # vouched for by the explicit trust step
        os.rename(tmp, dest)
        registry.verify(version)


def _check_copied(folder: Path, manifest: dict) -> None:
    """The copy holds exactly the checked files (nothing changed while copying)."""
    for name, expected in manifest["files"].items():
        if sha256_file(folder / name) != expected:
            raise BackupError(f"{folder.name}: {name} changed while it was copied; try again")


def _trusted(trust_key: Path | None) -> tuple[list[PublicKey], str]:
    own = installation_key().public
    if trust_key is None:
        return [own], ""
    other = read_public_key(trust_key)
    log.warning("restore trusts the signing key %s from %s", other.key_id, trust_key)
    return [own, other], f"; trusting key {other.key_id} from {trust_key}"


def _audit_refusal(url: str, actor: Actor, folder: Path, error: BaseException) -> None:
    """A refused restore leaves a failure entry in the (untouched) live store, if any."""
    try:
        if not sqlite_path(url).is_file():
            return
        engine = make_engine(url)
        try:
            if current_revision(engine):
                audit.record_now(engine, actor, "restore", AUDIT, outcome="failure",
                                 detail=f"from {folder}: {error}"[:2000])
        finally:
            engine.dispose()
    except Exception:  # noqa: BLE001 - the refusal itself is what the caller sees
        log.exception("could not audit the refused restore")


def restore(folder: Path, url: str | None = None, registry_dir: Path | None = None,
            force: bool = False, actor: Actor | None = None,
            trust_key: Path | None = None) -> BackupReport:
    """Bring back the store and the registry from a checked, signed backup folder.

    ``trust_key``: a public key file of another installation whose backups are accepted.
    """
    folder = Path(folder)
    actor = actor or Actor("system:restore", "system")
    url = url or settings.default_database_url()
    registry_dir = Path(registry_dir or settings.default_registry_dir())
    target = sqlite_path(url)
    with tempfile.TemporaryDirectory(prefix="kapcds-restore-") as staging:
        try:
            trusted, trust_note = _trusted(trust_key)
            plan = check_backup(folder, target, registry_dir, force, trusted, Path(staging))
        except BaseException as exc:
            _audit_refusal(url, actor, folder, exc)
            raise
        _keep_aside(target, plan)
        _apply_pseudonym_key(folder, plan.manifest)
        copy_database(plan.staged, target)
    _apply_registry(folder / REGISTRY_DIR, registry_dir, plan)
    return _finish(url, folder, registry_dir, plan, actor, trust_note)


def _finish(url: str, folder: Path, registry_dir: Path, plan: Plan, actor: Actor,
            trust_note: str) -> BackupReport:
    engine = make_engine(url)
    try:
        upgrade(engine)
        manifest = plan.manifest  # the restore entry first: its checkpoint starts the epoch
        audit.record_now(engine, actor, "restore", AUDIT,
                         detail=f"from {folder} (backup of {manifest.get('created_utc')}, "
                         f"signed by key {manifest['signed_by']}){trust_note}")
        if plan.current:
            Registry(registry_dir).promote(plan.current, by=actor.username,
                                           reason="restored from a backup",
                                           audit=promotion_audit(engine, actor))
        report = BackupReport(str(sqlite_path(url)), current_revision(engine),
                              store_counts(engine), str(chain_report(engine)), plan.versions,
                              plan.current)
    finally:
        engine.dispose()
    log.info("restored %s into %s: %s", folder, report.folder, report.counts)
    return report
