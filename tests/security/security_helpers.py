"""Helpers shared by the security tests: a placeholder registry version, a valid patient."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from models.contract.schema import defaults, model_feature_names, schema_hash
from models.store.modelset import ModelSet
from models.store.registry import Registry


def placeholder_model_set(tag: str = "a") -> ModelSet:
    """A real ModelSet with placeholder parts: enough for the registry to store and load."""
    return ModelSet(outcome_models={}, trajectory=None, ood=None,  # type: ignore[arg-type]
                    feature_names=model_feature_names(), schema_hash=schema_hash(),
                    train_summary={"tag": tag})


def register(root: Path, tag: str = "a", promote: bool = True) -> str:
    """Register (and promote) a placeholder version in the registry at ``root``."""
    registry = Registry(root)
    version = registry.register(placeholder_model_set(tag), {
        "title": "test card", "schema_hash": schema_hash(), "metrics": {}}, "# card\n")
    if promote:
        registry.promote(version)
    return version


def patient(number: int, **changes: Any) -> dict[str, Any]:
    """A valid patient at the schema defaults."""
    return {"patient_id": f"KAP-{number:05d}", "name": f"Test Patient {number}",
            **defaults(), **changes}
