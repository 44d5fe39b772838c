"""A pickled payload in the registry never runs: unsigned, wrongly signed or unknown-format
versions are refused on every load path, and legacy versions migrate only when asked."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import joblib
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from security_helpers import register

from base import settings
from base.signing import SigningKey, installation_key
from models.contract.schema import schema_hash
from models.store.registry import Registry, RegistryError, sign_manifest


class Payload:
    """Unpickling this creates ``marker``: proof that attacker code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (str(self.marker), "w"))


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _legacy_version(root: Path, version: str, model: Any) -> Path:
    """A version as releases before signing wrote it: models.joblib + unsigned manifest."""
    folder = root / "versions" / version
    folder.mkdir(parents=True)
    joblib.dump(model, folder / "models.joblib")
    (folder / "model_card.json").write_text(json.dumps(
        {"title": "legacy", "version": version, "schema_hash": schema_hash(), "metrics": {}}))
    (folder / "model_card.md").write_text("# legacy\n")
    files = {p.name: _sha(folder / p.name) for p in sorted(folder.iterdir())}
    (folder / "manifest.json").write_text(json.dumps(
        {"version": version, "algorithm": "sha256", "files": files}))
    (root / "CURRENT").write_text(version + "\n")
    return folder


def _payload_version(root: Path, marker: Path) -> str:
    version = "20260101T000000Z-evil00"
    _legacy_version(root, version, Payload(marker))
    return version


def test_the_payload_really_runs_when_unpickled(tmp_path: Path) -> None:
    """Control: the marker proves execution (so its absence below means something)."""
    marker = tmp_path / "ran"
    pickle.loads(pickle.dumps(Payload(marker)))
    assert marker.exists()


def _load_cli(root: Path, cli: Callable[..., Any], tmp_path: Path) -> Any:
    lines = (settings.DATA_SAMPLES_DIR / "patients.csv").read_text().splitlines()[:3]
    (tmp_path / "in.csv").write_text("\n".join(lines) + "\n")
    return cli("predict", "--registry", str(root), "--input", str(tmp_path / "in.csv"),
               "--output", str(tmp_path / "out.csv"))


@pytest.mark.parametrize("path", ["registry", "registry_version", "cli"])
def test_a_pickled_payload_with_a_consistent_unsigned_manifest_never_runs(
        path: str, tmp_path: Path, cli: Callable[..., Any]) -> None:
    root, marker = settings.default_registry_dir(), tmp_path / "pwned"
    version = _payload_version(root, marker)
    if path == "cli":
        result = _load_cli(root, cli, tmp_path)
        assert result.returncode == 1 and "not a signed promotion record" in result.stderr
    elif path == "registry":  # issue 24: the bare CURRENT pointer is refused first
        with pytest.raises(RegistryError, match="CURRENT is not a signed promotion record"):
            Registry(root).load()
    else:
        with pytest.raises(RegistryError, match="old pickled format.*refusing"):
            Registry(root).load(version if path == "registry_version" else None)
    assert not marker.exists()


def test_a_signed_manifest_listing_a_pickle_is_refused(tmp_path: Path) -> None:
    """Even with this installation's signature, an unknown file type is not read."""
    root, marker = settings.default_registry_dir(), tmp_path / "pwned"
    version = register(root, "good")
    folder = root / "versions" / version
    joblib.dump(Payload(marker), folder / "models.joblib")
    sign_manifest(folder, version, installation_key())
    with pytest.raises(RegistryError, match="unknown file 'models.joblib'"):
        Registry(root).load(version)
    assert not marker.exists()


def test_a_version_signed_by_another_key_is_refused(tmp_path: Path) -> None:
    """The attacker re-signs a consistent manifest with their own key."""
    root = settings.default_registry_dir()
    version = register(root, "good")
    folder = root / "versions" / version
    tree = json.loads((folder / "model_set.json").read_text())
    tree["root"]["state"]["__map__"][-2][1] = {"__map__": [["tag", "evil"]]}
    (folder / "model_set.json").write_text(json.dumps(tree))
    attacker = SigningKey(Ed25519PrivateKey.generate())
    sign_manifest(folder, version, attacker)
    with pytest.raises(RegistryError, match=f"signed by key '{attacker.key_id}', which this "
                       "installation does not trust"):
        Registry(root).load(version)


@pytest.mark.parametrize("edit", ["unsigned", "bad_signature", "wrong_version", "format"])
def test_manifest_edits_are_refused(edit: str) -> None:
    root = settings.default_registry_dir()
    version = register(root, "good")
    path = root / "versions" / version / "manifest.json"
    manifest = json.loads(path.read_text())
    if edit == "unsigned":
        del manifest["signature"]
    elif edit == "bad_signature":
        manifest["files"]["model_card.md"] = "0" * 64
    elif edit == "wrong_version":  # a signed version copied under another name
        os.rename(path.parent, path.parent.with_name("20260101T000000Z-other0"))
        version, path = "20260101T000000Z-other0", path.parent.with_name(
            "20260101T000000Z-other0") / "manifest.json"
    path.write_text(json.dumps(manifest))
    if edit == "format":
        key = installation_key()
        manifest["format"] = "kapcds-registry/99"
        path.write_text(json.dumps(key.sign("registry-manifest", manifest)))
    expected = {"unsigned": "is not signed", "bad_signature": "does not verify",
                "wrong_version": "signed for version", "format": "unknown artifact format"}
    with pytest.raises(RegistryError, match=expected[edit]):
        Registry(root).load(version)


def test_the_signing_key_is_private_and_outside_the_registry() -> None:
    root = settings.default_registry_dir()
    register(root, "good")
    key_file = settings.signing_key_file()
    assert key_file.is_file() and not key_file.is_relative_to(root)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key_bytes = key_file.read_bytes()
    assert not any(p.read_bytes() == key_bytes for p in root.rglob("*") if p.is_file())


def test_signing_key_file_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAPCDS_SIGNING_KEY_FILE", str(tmp_path / "elsewhere" / "k.key"))
    key = installation_key()
    assert key.path == tmp_path / "elsewhere" / "k.key"
    assert (tmp_path / "elsewhere" / "k.pub").is_file()
    assert installation_key().key_id == key.key_id  # stable once made


def test_registry_migrate_is_gone_and_a_planted_pickle_never_runs(
        tmp_path: Path, cli: Callable[..., Any]) -> None:
    """Issue 24: `kapcds registry migrate` unpickled every legacy-looking folder; a planted
    models.joblib ran. The command is gone and nothing else unpickles it."""
    root, marker = settings.default_registry_dir(), tmp_path / "pwned"
    version = _payload_version(root, marker)
    with pytest.raises(SystemExit):
        cli("registry", "migrate", "--registry", str(root))
    with pytest.raises(RegistryError, match="never unpickles"):
        Registry(root).load(version)
    assert not marker.exists()
