"""A folder of versioned model sets, each with a signed manifest checked before loading.

Layout::

    root/versions/<version_id>/model_set.json   the ModelSet as tagged JSON (models.store.artifacts)
    root/versions/<version_id>/booster-<n>.txt  LightGBM boosters in LightGBM's model text
    root/versions/<version_id>/arrays.npz       NumPy arrays (loaded with allow_pickle=False)
    root/versions/<version_id>/model_card.json  data, metrics, intended use, limits
    root/versions/<version_id>/model_card.md    the same card for people
    root/versions/<version_id>/manifest.json    SHA-256 of every other file, signed (Ed25519)
    root/CURRENT                                the newest signed promotion record
    root/promotions.jsonl                       every signed promotion record, oldest first

Nothing in a version is pickled. Loading reads each listed file once, checks the manifest's
signature against this installation's key (kept outside the registry) and every SHA-256,
and only then parses those same bytes. A version is written to a temporary folder and
renamed into place, so a crash never leaves half of one. Versions saved before manifests
were signed (a pickled ``models.joblib``) are refused: nothing in the installed program
unpickles (issue 24 dropped ``kapcds registry migrate``, which did).

Promotion is a signed record, audited before it takes effect (``models.store.promotion``);
``current_version`` refuses an edited or unsigned ``CURRENT`` and tells ``refused``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from base.files import write_atomically
from base.signing import PublicKey, SignatureError, SigningKey, installation_key
from base.signing import verify_document as verify_signature
from models.contract.schema import schema_hash
from models.store import artifacts, promotion
from models.store.card_text import describe_version, render_card_markdown
from models.store.modelset import ModelSet
from models.store.promotion import CURRENT, PromotionAudit  # noqa: F401  (CURRENT re-exported)

log = logging.getLogger(__name__)

CARD_JSON = "model_card.json"
CARD_MD = "model_card.md"
MANIFEST = "manifest.json"
LEGACY_MODELS_FILE = "models.joblib"  # pickled format before signed manifests
FORMAT = "kapcds-registry/2"
PURPOSE = "registry-manifest"
REQUIRED = (artifacts.TREE_FILE, artifacts.ARRAYS_FILE, CARD_JSON)
_FILE_NAME = re.compile(r"(model_set\.json|arrays\.npz|booster-\d{1,4}\.txt|model_card\.(json|md))")
_VERSION_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z_.-]{0,63}")


class RegistryError(RuntimeError):
    """A version is missing, unsigned, tampered with, or does not match this code's schema."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _new_version_id() -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{secrets.token_hex(3)}"


def _headline(card: dict[str, Any]) -> dict[str, Any]:
    """Test AUC per outcome from a card (for version lists)."""
    metrics = card.get("metrics", {})
    return {name: (m.get("auc") or {}).get("value") for name, m in metrics.items()
            if isinstance(m, dict)}


def read_manifest(folder: Path) -> dict[str, Any]:
    """A version's manifest as JSON (not yet checked); RegistryError if unreadable."""
    path = folder / MANIFEST
    if not path.is_file():
        raise RegistryError(f"{folder.name}: {MANIFEST} is missing")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RegistryError(f"{folder.name}: {MANIFEST} is unreadable: {exc}") from exc
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise RegistryError(f"{folder.name}: {MANIFEST} has no file list")
    return manifest


def sign_manifest(folder: Path, version: str, key: SigningKey) -> dict[str, Any]:
    """Hash every file in ``folder`` and write the signed manifest; return it."""
    files = sorted(p.name for p in folder.iterdir() if p.is_file() and p.name != MANIFEST)
    manifest = key.sign(PURPOSE, {
        "format": FORMAT, "version": version, "algorithm": "sha256",
        "artifact_format": artifacts.FORMAT,
        "files": {name: _sha256((folder / name).read_bytes()) for name in files}})
    write_atomically(folder / MANIFEST, json.dumps(manifest, indent=2))
    return manifest


class Registry:
    """Versioned model sets on disk; exactly one version is current after a promote.

    ``trusted`` adds public keys whose signatures are accepted besides this installation's
    own (restore uses it for a backup made elsewhere, after an explicit trust step).
    """

    def __init__(self, root: str | Path, key: SigningKey | None = None,
                 trusted: Iterable[PublicKey] = (),
                 refused: Callable[[str], None] | None = None) -> None:
        self.root = Path(root)
        self.versions_dir = self.root / "versions"
        self._key = key
        self._trusted = list(trusted)
        self._refused = refused  # told (once per message) when CURRENT is refused

    @property
    def key(self) -> SigningKey:
        """The installation's signing key (created on first use)."""
        if self._key is None:
            self._key = installation_key()
        return self._key

    def trusted_keys(self) -> list[PublicKey]:
        return [self.key.public, *self._trusted]

    def register(self, model_set: ModelSet, card: dict[str, Any],
                 card_markdown: str | None = None) -> str:
        """Store a new version (not promoted) and return its id."""
        key = self.key
        self.versions_dir.mkdir(parents=True, exist_ok=True)
        version = _new_version_id()
        while (self.versions_dir / version).exists():
            version = _new_version_id()
        card = {**card, "version": version}
        card.setdefault("schema_hash", model_set.schema_hash)
        tmp = Path(tempfile.mkdtemp(dir=self.versions_dir, prefix=f".tmp-{version}-"))
        try:
            artifacts.save(model_set, tmp)
            (tmp / CARD_JSON).write_text(json.dumps(card, indent=2, default=str),
                                         encoding="utf-8")
            markdown = card_markdown if card_markdown is not None else render_card_markdown(card)
            (tmp / CARD_MD).write_text(markdown, encoding="utf-8")
            sign_manifest(tmp, version, key)
            os.rename(tmp, self.versions_dir / version)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        log.info("registered model version %s (signed by key %s)", version, key.key_id)
        return version

    def folder(self, version: str) -> Path:
        """The folder of an existing version; RegistryError for an unknown or unsafe id."""
        if not isinstance(version, str) or not _VERSION_ID.fullmatch(version):
            raise RegistryError(f"no model version {version!r} in {self.versions_dir}")
        folder = self.versions_dir / version
        if not folder.is_dir():
            raise RegistryError(f"no model version {version!r} in {self.versions_dir}")
        return folder

    def _check_manifest(self, version: str, manifest: dict[str, Any]) -> dict[str, str]:
        if "signature" not in manifest and LEGACY_MODELS_FILE in manifest["files"]:
            raise RegistryError(
                f"{version} is in the old pickled format with an unsigned manifest; refusing "
                "to load it (this release never unpickles: retrain the model, or re-save it "
                "with a release before 2026-12 and upgrade again; otherwise remove it)")
        try:
            signer = verify_signature(PURPOSE, manifest, self.trusted_keys())
        except SignatureError as exc:
            raise RegistryError(f"{version}: {MANIFEST} is refused: {exc}; nothing in this "
                                "version is loaded") from exc
        if manifest.get("format") != FORMAT or \
                manifest.get("artifact_format") != artifacts.FORMAT:
            raise RegistryError(f"{version}: unknown artifact format "
                                f"{manifest.get('format')!r}/{manifest.get('artifact_format')!r}")
        if manifest.get("version") != version:
            raise RegistryError(f"{version}: its manifest was signed for version "
                                f"{manifest.get('version')!r} (moved or renamed)")
        files = manifest["files"]
        for name in files:
            if not isinstance(name, str) or not _FILE_NAME.fullmatch(name):
                raise RegistryError(f"{version}: unknown file {name!r} in the manifest")
        for required in REQUIRED:
            if required not in files:
                raise RegistryError(f"{version}: {MANIFEST} does not list {required}")
        log.debug("%s: manifest signed by key %s", version, signer.key_id)
        return files

    def read_verified(self, version: str) -> tuple[dict[str, Any], dict[str, bytes]]:
        """The signed manifest and the bytes of every listed file, each hash checked.

        The files are read once; whatever is parsed later is exactly these checked bytes.
        """
        folder = self.folder(version)
        manifest = read_manifest(folder)
        files = self._check_manifest(version, manifest)
        contents: dict[str, bytes] = {}
        for name, expected in files.items():
            path = folder / name
            if not path.is_file() or path.is_symlink():
                raise RegistryError(f"{version}: {name} is missing")
            data = path.read_bytes()
            if _sha256(data) != expected:
                raise RegistryError(f"{version}: {name} does not match its SHA-256 in the "
                                    "manifest (modified or corrupted); refusing to load")
            contents[name] = data
        return manifest, contents

    def verify(self, version: str) -> dict[str, Any]:
        """Check the signature and every hash; return the card. RegistryError names a file."""
        _, contents = self.read_verified(version)
        return json.loads(contents[CARD_JSON].decode("utf-8"))

    def load(self, version: str | None = None) -> tuple[ModelSet, dict[str, Any]]:
        """Verify and load a version (default: the current one)."""
        if version is None:
            version = self.current_version()
            if version is None:
                raise RegistryError(f"no current model version in {self.root}; "
                                    "train one and promote it first")
        _, contents = self.read_verified(version)
        card = json.loads(contents[CARD_JSON].decode("utf-8"))
        expected = schema_hash()
        if card.get("schema_hash") != expected:
            raise RegistryError(
                f"{version} was trained on a different feature schema (card "
                f"{str(card.get('schema_hash'))[:12]}…, code {expected[:12]}…); retrain it")
        try:
            model_set = artifacts.load_bytes(contents)
        except artifacts.ArtifactError as exc:
            raise RegistryError(f"{version}: {exc}") from exc
        if not isinstance(model_set, ModelSet) or model_set.schema_hash != expected:
            raise RegistryError(f"{version}: {artifacts.TREE_FILE} does not hold a matching "
                                "ModelSet")
        return model_set, card

    def promote(self, version: str, *, by: str = "", reason: str = "",
                audit: PromotionAudit | None = None) -> dict[str, Any]:
        """Make a verified version current with a signed promotion record; return it.

        ``audit(record)`` must commit the promotion's audit entry; it runs before
        ``CURRENT`` changes, so a failure or a kill leaves the previous version current.
        Without ``audit`` (library and test use) the promotion is only logged.
        """
        self.verify(version)
        previous = self.current_version(strict=False)
        return promotion.promote(self.root, self.key, version, previous, by, reason, audit)

    def promotion(self, strict: bool = True) -> dict[str, Any] | None:
        """The current promotion record (signature checked), None when nothing was ever
        promoted. A ``CURRENT`` that is not a promotion record signed by a trusted key is
        refused: RegistryError with ``strict``, else None; ``refused`` is told either way.
        """
        try:
            return promotion.read_current(self.root, self.trusted_keys())
        except promotion.PromotionError as exc:
            message = (f"{exc}; promote a version (`kapcds promote VERSION --reason TEXT`) "
                       "to repair it; until then no model version is trusted as current")
            log.error("%s", message)
            if self._refused is not None:
                self._refused(message)
            if strict:
                raise RegistryError(message) from exc
            return None

    def current_version(self, strict: bool = True) -> str | None:
        """The version the newest signed promotion record names, or None when nothing was
        ever promoted.

        A ``CURRENT`` file that exists but is empty, edited or unsigned is damage, not "no
        model yet": RegistryError (with ``strict``), so nothing trains and promotes a
        replacement behind the user's back.
        """
        record = self.promotion(strict)
        return None if record is None else str(record["version"])

    def versions(self) -> list[dict[str, Any]]:
        """Every stored version, oldest first, with creation time and headline metrics."""
        if not self.versions_dir.is_dir():
            return []
        record = self.promotion(strict=False)
        current = None if record is None else record["version"]
        rows = []
        for folder in sorted(self.versions_dir.iterdir()):
            if not folder.is_dir() or folder.name.startswith("."):
                continue
            try:
                card = json.loads((folder / CARD_JSON).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                card = {}
            rows.append({"id": folder.name, "created": card.get("created_utc"),
                         "current": folder.name == current, "metrics": _headline(card),
                         "description": describe_version(card),
                         "promotion": promotion.describe(record)
                         if folder.name == current else ""})
        return rows
