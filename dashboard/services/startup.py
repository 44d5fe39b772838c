"""What the dashboard needs before its first page: a migrated, seeded store and a model.

Both first-run steps live in their own layers (``records.first_run``, ``training.first_run``);
this joins them for the server (no Streamlit here, so tests can call it too).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine

from base import settings
from records.first_run import ensure_store
from training.first_run import ensure_model
from training.train import Progress


@dataclass
class Ready:
    """A store engine, the registry folder and the version current at start."""

    engine: Engine
    registry_dir: Path
    version: str


def ensure_ready(progress: Progress | None = None) -> Ready:
    """Model and store both ready (idempotent; cheap after the first run)."""
    registry_dir = settings.default_registry_dir()
    version = ensure_model(registry_dir, progress)
    return Ready(engine=ensure_store(), registry_dir=registry_dir, version=version)
