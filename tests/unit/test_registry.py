"""The registry: versions round-trip, and anything tampered, missing or stale is refused."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import models.store.registry as registry_module
from models.contract.schema import model_feature_names, schema_hash
from models.store.modelset import ModelSet
from models.store.registry import Registry, RegistryError


def _model_set(tag: str = "a") -> ModelSet:
    # A real ModelSet with placeholder parts: the registry only stores and verifies it.
    return ModelSet(outcome_models={}, trajectory=None, ood=None,  # type: ignore[arg-type]
                    feature_names=model_feature_names(), schema_hash=schema_hash(),
                    train_summary={"tag": tag})


def _card(auc: float = 0.7) -> dict:
    return {"title": "test card", "created_utc": "2026-11-25T16:15:00+00:00",
            "metrics": {"response": {"n": 10, "prevalence": 0.5,
                                     **{k: {"value": auc, "lo": auc - 0.1, "hi": auc + 0.1}
                                        for k in ("auc", "pr_auc", "brier",
                                                  "calibration_intercept",
                                                  "calibration_slope")}}},
            "schema_hash": schema_hash()}


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    return Registry(tmp_path / "registry")


def test_round_trip_and_layout(registry: Registry) -> None:
    version = registry.register(_model_set("x"), _card())
    assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{6}", version)
    folder = registry.versions_dir / version
    assert sorted(p.name for p in folder.iterdir()) == [
        "arrays.npz", "manifest.json", "model_card.json", "model_card.md", "model_set.json"]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert set(manifest["files"]) == {"arrays.npz", "model_card.json", "model_card.md",
                                      "model_set.json"}
    assert manifest["signature"]["scheme"] == "ed25519"
    assert manifest["signature"]["key_id"] == registry.key.key_id
    model_set, card = registry.load(version)
    assert model_set.train_summary == {"tag": "x"}
    assert card["version"] == version
    assert "test card" in (folder / "model_card.md").read_text()


def test_register_does_not_promote_and_promote_is_explicit(registry: Registry) -> None:
    first = registry.register(_model_set(), _card(0.6))
    assert registry.current_version() is None
    with pytest.raises(RegistryError, match="no current model version"):
        registry.load()
    registry.promote(first)
    second = registry.register(_model_set("b"), _card(0.8))
    assert registry.current_version() == first
    registry.promote(second)
    assert registry.current_version() == second
    assert registry.load()[0].train_summary == {"tag": "b"}
    rows = {row["id"]: row for row in registry.versions()}
    assert rows[second]["current"] and not rows[first]["current"]
    assert rows[first]["metrics"] == {"response": 0.6}
    assert rows[first]["created"] == "2026-11-25T16:15:00+00:00"


def test_promote_unknown_version_is_refused(registry: Registry) -> None:
    registry.register(_model_set(), _card())
    with pytest.raises(RegistryError, match="no model version"):
        registry.promote("20260101T000000Z-abcdef")
    with pytest.raises(RegistryError):
        registry.promote("../versions")


def test_tampered_models_file_is_refused_before_parsing(
        registry: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    version = registry.register(_model_set(), _card())
    path = registry.versions_dir / version / "model_set.json"
    path.write_bytes(path.read_bytes() + b" ")
    calls = []
    monkeypatch.setattr(registry_module.artifacts, "load_bytes", lambda *a: calls.append(a))
    with pytest.raises(RegistryError, match="model_set.json does not match its SHA-256"):
        registry.load(version)
    assert calls == []


def test_tampered_card_is_refused(registry: Registry) -> None:
    version = registry.register(_model_set(), _card())
    path = registry.versions_dir / version / "model_card.json"
    path.write_text(path.read_text().replace("test card", "edited card"))
    with pytest.raises(RegistryError, match="model_card.json"):
        registry.load(version)


@pytest.mark.parametrize("name", ["model_set.json", "arrays.npz", "model_card.md",
                                  "manifest.json"])
def test_missing_file_is_refused(registry: Registry, name: str) -> None:
    version = registry.register(_model_set(), _card())
    (registry.versions_dir / version / name).unlink()
    with pytest.raises(RegistryError, match=re.escape(name)):
        registry.load(version)


def test_schema_hash_mismatch_is_refused_before_parsing(
        registry: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    version = registry.register(_model_set(), _card())
    monkeypatch.setattr(registry_module, "schema_hash", lambda: "0" * 64)
    monkeypatch.setattr(registry_module.artifacts, "load_bytes",
                        lambda *a: pytest.fail("parsed a stale version"))
    with pytest.raises(RegistryError, match="different feature schema"):
        registry.load(version)


def test_failed_register_leaves_no_partial_folder(
        registry: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_save(value, folder):
        (Path(folder) / "model_set.json").write_bytes(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(registry_module.artifacts, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        registry.register(_model_set(), _card())
    assert list(registry.versions_dir.iterdir()) == []
    assert registry.versions() == []


def test_current_is_written_atomically(registry: Registry,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    first = registry.register(_model_set(), _card())
    second = registry.register(_model_set(), _card())
    registry.promote(first)

    def broken_replace(src, dst):
        raise OSError("crash during rename")

    monkeypatch.setattr(registry_module.os, "replace", broken_replace)
    with pytest.raises(OSError):
        registry.promote(second)
    assert registry.current_version() == first
    assert [p.name for p in registry.root.iterdir() if p.name.startswith(".CURRENT")] == []


def test_no_file_in_a_version_is_a_pickle(registry: Registry) -> None:
    version = registry.register(_model_set("z"), _card())
    for path in (registry.versions_dir / version).iterdir():
        assert not path.read_bytes().startswith(b"\x80"), f"{path.name} looks like a pickle"


@pytest.mark.parametrize("content", ["", "\n", "  \n", "../etc\n"])
def test_a_damaged_current_file_is_an_error_not_no_model(registry: Registry,
                                                         content: str) -> None:
    version = registry.register(_model_set(), _card())
    registry.promote(version)
    (registry.root / "CURRENT").write_text(content)
    with pytest.raises(RegistryError, match="CURRENT is (empty|not a signed promotion record)"):
        registry.current_version()
    with pytest.raises(RegistryError, match="CURRENT"):
        registry.load()
    registry.promote(version)  # promoting repairs it
    assert registry.current_version() == version
