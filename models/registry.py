"""A folder of versioned model sets, each checked against a SHA-256 manifest before loading.

Layout::

    root/versions/<version_id>/models.joblib      the pickled ModelSet
    root/versions/<version_id>/model_card.json    data, metrics, intended use, limits
    root/versions/<version_id>/model_card.md      the same card for people
    root/versions/<version_id>/manifest.json      SHA-256 of every other file
    root/CURRENT                                  the promoted version id

Unpickling runs code, so nothing is unpickled until every hash matches; a version is
written to a temporary folder and renamed into place, so a crash never leaves half of one.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import joblib

from base.files import sha256_file, write_atomically
from models.card_text import render_card_markdown
from models.modelset import ModelSet
from models.schema import schema_hash

log = logging.getLogger(__name__)

MODELS_FILE = "models.joblib"
CARD_JSON = "model_card.json"
CARD_MD = "model_card.md"
MANIFEST = "manifest.json"
CURRENT = "CURRENT"


class RegistryError(RuntimeError):
    """A version is missing, tampered with, or does not match this code's schema."""


def _new_version_id() -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{secrets.token_hex(3)}"


def _headline(card: dict[str, Any]) -> dict[str, Any]:
    """Test AUC per outcome from a card (for version lists)."""
    metrics = card.get("metrics", {})
    return {name: (m.get("auc") or {}).get("value") for name, m in metrics.items()
            if isinstance(m, dict)}


class Registry:
    """Versioned model sets on disk; exactly one version is current after a promote."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.versions_dir = self.root / "versions"

    def register(self, model_set: ModelSet, card: dict[str, Any],
                 card_markdown: str | None = None) -> str:
        """Store a new version (not promoted) and return its id."""
        self.versions_dir.mkdir(parents=True, exist_ok=True)
        version = _new_version_id()
        while (self.versions_dir / version).exists():
            version = _new_version_id()
        card = {**card, "version": version}
        card.setdefault("schema_hash", model_set.schema_hash)
        tmp = Path(tempfile.mkdtemp(dir=self.versions_dir, prefix=f".tmp-{version}-"))
        try:
            joblib.dump(model_set, tmp / MODELS_FILE, compress=3)
            (tmp / CARD_JSON).write_text(json.dumps(card, indent=2, default=str),
                                         encoding="utf-8")
            markdown = card_markdown if card_markdown is not None else render_card_markdown(card)
            (tmp / CARD_MD).write_text(markdown, encoding="utf-8")
            files = sorted(p.name for p in tmp.iterdir() if p.is_file())
            manifest = {"version": version, "algorithm": "sha256",
                        "files": {name: sha256_file(tmp / name) for name in files}}
            (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
            os.rename(tmp, self.versions_dir / version)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        log.info("registered model version %s", version)
        return version

    def _folder(self, version: str) -> Path:
        folder = self.versions_dir / version
        if not version or "/" in version or version.startswith(".") or not folder.is_dir():
            raise RegistryError(f"no model version {version!r} in {self.versions_dir}")
        return folder

    def verify(self, version: str) -> dict[str, Any]:
        """Check every manifest hash; return the card. Raises RegistryError naming a file."""
        folder = self._folder(version)
        manifest_path = folder / MANIFEST
        if not manifest_path.is_file():
            raise RegistryError(f"{version}: {MANIFEST} is missing")
        try:
            files = json.loads(manifest_path.read_text(encoding="utf-8"))["files"]
        except (ValueError, KeyError, TypeError) as exc:
            raise RegistryError(f"{version}: {MANIFEST} is unreadable: {exc}") from exc
        for required in (MODELS_FILE, CARD_JSON):
            if required not in files:
                raise RegistryError(f"{version}: {MANIFEST} does not list {required}")
        for name, expected in files.items():
            path = folder / name
            if Path(name).name != name or not path.is_file():
                raise RegistryError(f"{version}: {name} is missing")
            if sha256_file(path) != expected:
                raise RegistryError(f"{version}: {name} does not match its SHA-256 in the "
                                    "manifest (modified or corrupted); refusing to load")
        return json.loads((folder / CARD_JSON).read_text(encoding="utf-8"))

    def load(self, version: str | None = None) -> tuple[ModelSet, dict[str, Any]]:
        """Verify and load a version (default: the current one)."""
        if version is None:
            version = self.current_version()
            if version is None:
                raise RegistryError(f"no current model version in {self.root}; "
                                    "train one and promote it first")
        card = self.verify(version)
        expected = schema_hash()
        if card.get("schema_hash") != expected:
            raise RegistryError(
                f"{version} was trained on a different feature schema (card "
                f"{str(card.get('schema_hash'))[:12]}…, code {expected[:12]}…); retrain it")
        model_set = joblib.load(self._folder(version) / MODELS_FILE)
        if not isinstance(model_set, ModelSet) or model_set.schema_hash != expected:
            raise RegistryError(f"{version}: {MODELS_FILE} does not hold a matching ModelSet")
        return model_set, card

    def promote(self, version: str) -> None:
        """Make a verified version the current one (atomic write of CURRENT)."""
        self.verify(version)
        previous = self.current_version()
        self.root.mkdir(parents=True, exist_ok=True)
        write_atomically(self.root / CURRENT, version + "\n")
        log.info("promoted model version %s (was %s)", version, previous)

    def current_version(self) -> str | None:
        """The promoted version id, or None."""
        path = self.root / CURRENT
        if not path.is_file():
            return None
        text = path.read_text(encoding="utf-8").strip()
        return text or None

    def versions(self) -> list[dict[str, Any]]:
        """Every stored version, oldest first, with creation time and headline metrics."""
        if not self.versions_dir.is_dir():
            return []
        current = self.current_version()
        rows = []
        for folder in sorted(self.versions_dir.iterdir()):
            if not folder.is_dir() or folder.name.startswith("."):
                continue
            try:
                card = json.loads((folder / CARD_JSON).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                card = {}
            rows.append({"id": folder.name, "created": card.get("created_utc"),
                         "current": folder.name == current, "metrics": _headline(card)})
        return rows
