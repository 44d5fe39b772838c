"""First-run set-up shared by the CLI and the dashboard.

A newcomer's first `kapcds dashboard` (or `predict`) finds no model and an empty store: this
trains a first model set from `data_samples/`, promotes it, migrates the store and seeds it
with the synthetic sample patients. A file lock keeps two processes from doing it twice.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from kapcds import config

log = logging.getLogger(__name__)
Progress = Callable[[int, int, str], None]


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def train_and_register(data_dir: Path, registry_dir: Path, promote: bool,
                       seed: int = 0, progress: Progress | None = None,
                       params: dict | None = None) -> str:
    """Train a model set on a validated cohort folder and register it; return the version."""
    from models.registry import Registry
    from training.data import load_dataset, load_followup
    from training.train import train_model_set

    patients, sessions = load_dataset(data_dir)
    followup = load_followup(data_dir, known_patient_ids=patients["patient_id"])
    result = train_model_set(patients, sessions, params=params, seed=seed, progress=progress,
                             data_description={"source": str(data_dir), "synthetic": True},
                             followup=followup)
    registry = Registry(registry_dir)
    version = registry.register(result.model_set, result.card)
    if promote:
        registry.promote(version)
    return version


def ensure_model(registry_dir: Path | None = None, progress: Progress | None = None) -> str:
    """The current model version, training one from `data_samples/` if there is none."""
    from models.registry import Registry

    registry_dir = Path(registry_dir or config.default_registry_dir())
    registry = Registry(registry_dir)
    current = registry.current_version()
    if current:
        return current
    with _file_lock(registry_dir / ".bootstrap.lock"):
        current = registry.current_version()
        if current:
            return current
        log.warning("no model yet: training a first one from %s", config.DATA_SAMPLES_DIR)
        return train_and_register(config.DATA_SAMPLES_DIR, registry_dir, promote=True,
                                  progress=progress)


def ensure_admin(engine) -> None:
    """A store without accounts gets ``admin``, its password from ``KAPCDS_ADMIN_PASSWORD``
    or generated and shown once on stderr (never a fixed default, never in a log file)."""
    from records.db import session_factory
    from records.users import ADMIN_PASSWORD_VARIABLE, FIRST_ADMIN, create_first_admin

    with session_factory(engine)() as session:
        generated = create_first_admin(session, os.environ.get(ADMIN_PASSWORD_VARIABLE))
    if generated:
        sys.stderr.write(f"\nKAP-CDS first run: created the administrator account "
                         f"'{FIRST_ADMIN}' with the password\n\n    {generated}\n\nIt is shown "
                         "only this once: sign in and change it (or add accounts with "
                         "`kapcds users add`).\n\n")
        sys.stderr.flush()


def ensure_store(url: str | None = None):
    """An engine on a migrated store, seeded with the synthetic samples when empty."""
    from records.bulk import seed_from_samples
    from records.db import make_engine
    from records.migrate import upgrade

    engine = make_engine(url or config.default_database_url())
    with _file_lock(config.home_dir() / ".store.lock"):
        upgrade(engine)
        added = seed_from_samples(engine, config.DATA_SAMPLES_DIR)
        ensure_admin(engine)
    if added:
        log.warning("seeded the empty store with %d synthetic sample patients", added)
    return engine


@dataclass
class Ready:
    """What the dashboard needs: a store engine, the registry folder, the current version."""

    engine: object
    registry_dir: Path
    version: str


def ensure_ready(progress: Progress | None = None) -> Ready:
    """Model and store both ready (idempotent; cheap after the first run)."""
    registry_dir = config.default_registry_dir()
    version = ensure_model(registry_dir, progress)
    return Ready(engine=ensure_store(), registry_dir=registry_dir, version=version)
