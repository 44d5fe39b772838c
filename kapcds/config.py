"""Paths and settings as plain constants and small functions; nothing happens at import time."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DATA_SAMPLES_DIR = PROJECT_ROOT / "data_samples"
DOCS_DIR = PROJECT_ROOT / "docs"

SAMPLE_SEED = 20261125
SAMPLE_PATIENTS = 2000


def home_dir() -> Path:
    """Per-user data folder (``KAPCDS_HOME`` overrides; default ``~/.local/share/kapcds``)."""
    override = os.environ.get("KAPCDS_HOME")
    if override:
        return Path(override).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "kapcds"


def default_registry_dir() -> Path:
    """Where model versions live unless ``--registry`` says otherwise."""
    return home_dir() / "registry"


def default_database_url() -> str:
    """``KAPCDS_DATABASE_URL`` or an embedded SQLite file in the data folder."""
    url = os.environ.get("KAPCDS_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{home_dir() / 'kapcds.sqlite3'}"
