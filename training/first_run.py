"""Train-and-register, and the first-run model: a newcomer's first start finds no model.

``ensure_model`` trains a first model set from ``data_samples/`` and promotes it; a file lock
keeps two processes (the CLI and the dashboard) from doing it twice. The CLI's ``train``,
the Dask variant and the first run all go through ``train_and_register``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from base import settings
from base.files import file_lock
from models.registry import Registry
from training.data import load_dataset, load_followup
from training.train import Progress, TrainResult, train_model_set

log = logging.getLogger(__name__)

# (patients, sessions, **train_model_set keywords) -> TrainResult: local or on a cluster.
Trainer = Callable[..., TrainResult]


def train_and_register(data_dir: Path, registry_dir: Path, promote: bool,
                       seed: int = 0, progress: Progress | None = None,
                       params: dict[str, Any] | None = None,
                       trainer: Trainer = train_model_set) -> str:
    """Train a model set on a validated cohort folder and register it; return the version."""
    patients, sessions = load_dataset(data_dir)
    followup = load_followup(data_dir, known_patient_ids=patients["patient_id"])
    result = trainer(patients, sessions, params=params, seed=seed, progress=progress,
                     data_description={"source": str(Path(data_dir).resolve()),
                                       "synthetic": True},
                     followup=followup)
    registry = Registry(registry_dir)
    version = registry.register(result.model_set, result.card)
    if promote:
        registry.promote(version)
    return version


def ensure_model(registry_dir: Path | None = None, progress: Progress | None = None) -> str:
    """The current model version, training one from `data_samples/` if there is none."""
    registry_dir = Path(registry_dir or settings.default_registry_dir())
    registry = Registry(registry_dir)
    current = registry.current_version()
    if current:
        return current
    with file_lock(registry_dir / ".bootstrap.lock"):
        current = registry.current_version()
        if current:
            return current
        log.warning("no model yet: training a first one from %s", settings.DATA_SAMPLES_DIR)
        return train_and_register(settings.DATA_SAMPLES_DIR, registry_dir, promote=True,
                                  progress=progress)
