"""Model artifacts: every load path checks the signed manifest before anything is parsed,
and nothing in the code base unpickles (issue 24 dropped the legacy migration)."""

from __future__ import annotations

import ast
import pickle
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from security_helpers import register

import models.store.registry as registry_module
from base import settings
from kapcds import common
from models.store.registry import Registry, RegistryError

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("kapcds", "models", "training", "records", "dashboard", "interop")
UNPICKLERS = {("pickle", "load"), ("pickle", "loads"), ("joblib", "load"), ("dill", "load"),
              ("cloudpickle", "load"), ("pd", "read_pickle"), ("pandas", "read_pickle"),
              ("shelve", "open"), ("torch", "load")}


def _via_registry_version(root: Path, version: str) -> Any:
    return Registry(root).load(version)


def _via_registry_current(root: Path, version: str) -> Any:
    return Registry(root).load()


def _via_cli(root: Path, version: str | None) -> Any:
    return common.load_model(SimpleNamespace(registry=root, version=version))


def _via_cli_current(root: Path, version: str) -> Any:
    return _via_cli(root, None)


def _via_dashboard(root: Path, version: str) -> Any:
    import streamlit as st

    from dashboard.widgets import resources

    st.cache_resource.clear()
    try:
        return resources._model(str(root), version)
    finally:
        st.cache_resource.clear()


LOAD_PATHS = [_via_registry_version, _via_registry_current, _via_cli, _via_cli_current,
              _via_dashboard]


@pytest.fixture
def events(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records 'verify' and 'parse' in the order they happen."""
    seen: list[str] = []
    real_verify, real_load = Registry.read_verified, registry_module.artifacts.load_bytes

    def verify(self: Registry, version: str) -> Any:
        seen.append("verify")
        return real_verify(self, version)

    def load(*args: Any, **kwargs: Any) -> Any:
        seen.append("parse")
        return real_load(*args, **kwargs)

    monkeypatch.setattr(Registry, "read_verified", verify)
    monkeypatch.setattr(registry_module.artifacts, "load_bytes", load)
    return seen


@pytest.mark.parametrize("load", LOAD_PATHS, ids=lambda f: f.__name__)
def test_a_good_version_is_verified_before_it_is_parsed(
        load: Callable[..., Any], events: list[str]) -> None:
    root = settings.default_registry_dir()
    version = register(root, "good")
    model_set, card = load(root, version)
    assert model_set.train_summary == {"tag": "good"} and card["version"] == version
    assert events[-2:] == ["verify", "parse"] and events.count("parse") == 1


@pytest.mark.parametrize("tamper", ["append", "swap", "manifest"])
@pytest.mark.parametrize("load", LOAD_PATHS, ids=lambda f: f.__name__)
def test_a_tampered_version_is_never_parsed(load: Callable[..., Any], tamper: str,
                                            events: list[str]) -> None:
    root = settings.default_registry_dir()
    version = register(root, "good")
    folder = root / "versions" / version
    models = folder / "model_set.json"
    if tamper == "append":
        models.write_bytes(models.read_bytes() + b" ")
    elif tamper == "swap":  # a different (valid, signed!) model set put in place of the real one
        other = register(root, "evil", promote=False)
        models.write_bytes((root / "versions" / other / "model_set.json").read_bytes())
    else:  # the manifest no longer lists the models file
        (folder / "manifest.json").write_text('{"files": {}}')
    with pytest.raises(RegistryError):
        load(root, version)
    assert "parse" not in events


def _unpickling_calls(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and isinstance(
                node.func.value, ast.Name):
            if (node.func.value.id, node.func.attr) in UNPICKLERS:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
        if isinstance(node, ast.keyword) and node.arg == "allow_pickle" and not (
                isinstance(node.value, ast.Constant) and node.value.value is False):
            found.append(f"{path.relative_to(ROOT)}:{node.value.lineno} allow_pickle")
    return found


def test_nothing_in_the_installed_program_unpickles() -> None:
    """Issue 24: the legacy migration (the one unpickling left) was dropped."""
    calls = [call for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))
             for call in _unpickling_calls(path)]
    assert calls == []


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (str(self.marker), "w"))


def test_an_uploaded_pickle_is_read_as_text_and_refused(tmp_path: Path) -> None:
    from dashboard.services.entry.writes import import_csv

    marker = tmp_path / "pwned"
    payload = pickle.dumps(_Payload(marker))
    workspace = SimpleNamespace(engine=None)  # never reached: parsing fails first
    outcome = import_csv(workspace, ("patients.csv", payload), ("x.pkl", payload))  # type: ignore[arg-type]
    assert not outcome.ok and not marker.exists()
