"""One-time migration of registry versions saved before manifests were signed.

Those versions hold a pickled ``models.joblib`` under an unsigned SHA-256 manifest, and
the registry refuses to load them: anyone who could write the registry could have put a
payload there with a consistent manifest. ``migrate`` is the explicit step by which the
owner of the registry vouches for them: each legacy version whose hashes check out is
unpickled once, here, re-saved in the plain-data format (``models.store.artifacts``), signed
with this installation's key, loaded back from the new files, and swapped in place. It
never runs on its own (an automatic migration on load would hand the attacker the same
code execution); ``kapcds registry migrate`` runs it and audits it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

from models.store import artifacts
from models.store.modelset import ModelSet
from models.store.registry import (
    CARD_JSON,
    CARD_MD,
    LEGACY_MODELS_FILE,
    Registry,
    RegistryError,
    read_manifest,
    sign_manifest,
)

log = logging.getLogger(__name__)


def is_legacy(folder: Path) -> bool:
    """An unsigned manifest listing the pickled models file."""
    try:
        manifest = read_manifest(folder)
    except RegistryError:
        return False
    return "signature" not in manifest and LEGACY_MODELS_FILE in manifest["files"]


def _legacy_model_set(folder: Path) -> ModelSet:
    """Check the old manifest's hashes, then unpickle (the only unpickling in the code)."""
    import joblib

    files = read_manifest(folder)["files"]
    for name, expected in files.items():
        path = folder / name
        if Path(name).name != name or not path.is_file() or \
                hashlib.sha256(path.read_bytes()).hexdigest() != expected:
            raise RegistryError(f"{folder.name}: {name} is missing or does not match the old "
                                "manifest; not migrating it")
    model_set = joblib.load(folder / LEGACY_MODELS_FILE)
    if not isinstance(model_set, ModelSet):
        raise RegistryError(f"{folder.name}: {LEGACY_MODELS_FILE} does not hold a ModelSet")
    return model_set


def migrate_version(registry: Registry, version: str) -> None:
    """Re-save one legacy version in the signed plain-data format (same id)."""
    folder = registry.folder(version)
    model_set = _legacy_model_set(folder)
    tmp = Path(tempfile.mkdtemp(dir=registry.versions_dir, prefix=f".tmp-migrate-{version}-"))
    old = registry.versions_dir / f".legacy-{version}"
    try:
        artifacts.save(model_set, tmp)
        for name in (CARD_JSON, CARD_MD):
            if (folder / name).is_file():
                shutil.copyfile(folder / name, tmp / name)
        sign_manifest(tmp, version, registry.key)
        os.rename(folder, old)
        os.rename(tmp, folder)
    except BaseException:
        if old.exists() and not folder.exists():
            os.rename(old, folder)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    try:
        if _schema_matches(folder):
            registry.load(version)  # the re-saved files load back (a stale schema cannot)
        else:
            registry.verify(version)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        os.rename(old, folder)
        raise
    shutil.rmtree(old)  # the pickle goes: nothing should ever unpickle it again
    log.warning("migrated model version %s to the signed format (key %s)", version,
                registry.key.key_id)


def _schema_matches(folder: Path) -> bool:
    from models.contract.schema import schema_hash

    card = json.loads((folder / CARD_JSON).read_text(encoding="utf-8"))
    return card.get("schema_hash") == schema_hash()


def migrate(registry: Registry) -> list[str]:
    """Migrate every legacy version; return their ids (already signed ones are skipped)."""
    if not registry.versions_dir.is_dir():
        return []
    done = []
    for folder in sorted(registry.versions_dir.iterdir()):
        if folder.is_dir() and not folder.name.startswith(".") and is_legacy(folder):
            migrate_version(registry, folder.name)
            done.append(folder.name)
    return done
