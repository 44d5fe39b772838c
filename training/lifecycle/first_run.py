"""Train-and-register, and the first-run model: a newcomer's first start finds no model.

``ensure_model`` trains a first model set on a seeded generated cohort of
``base.settings.FIRST_MODEL_PATIENTS`` patients (seed ``FIRST_MODEL_SEED``) and promotes
it; a file lock keeps two processes (the CLI and the dashboard) from doing it twice. The
store is still seeded with ``data_samples/`` (``records.first_run``), so the stored patients
are patients this model never saw. Why not ``data_samples/`` itself: 2,000 patients leave a
400-patient test split whose AUC intervals are too wide for the per-outcome quality gate
(``models.clinical.quality_gate``) to pass outcomes the generator does make predictable (measured in
docs/quality-gate.md). The CLI's ``train`` and the Dask variant go through
``train_and_register``.
"""

from __future__ import annotations

import getpass
import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from base import settings
from base.files import file_lock
from models.store.promotion import PromotionAudit
from models.store.registry import Registry
from training.data import load_dataset, load_followup
from training.generator.generate import generate_cohort
from training.generator.settings import EffectSettings
from training.train import Progress, TrainResult, train_model_set

log = logging.getLogger(__name__)

# (patients, sessions, **train_model_set keywords) -> TrainResult: local or on a cluster.
Trainer = Callable[..., TrainResult]


def train_and_register(data_dir: Path, registry_dir: Path, promote: bool,
                       seed: int = 0, progress: Progress | None = None,
                       params: dict[str, Any] | None = None,
                       trainer: Trainer = train_model_set,
                       trained_by: str | None = None,
                       audit: PromotionAudit | None = None) -> str:
    """Train a model set on a validated cohort folder and register it; return the version.

    ``trained_by`` goes into the card (default: the OS user, marked as the CLI).
    """
    started = time.perf_counter()
    patients, sessions = load_dataset(data_dir)
    followup = load_followup(data_dir, known_patient_ids=patients["patient_id"])
    log.info("stage read and validate: %.2f s", time.perf_counter() - started)
    result = trainer(patients, sessions, params=params, seed=seed, progress=progress,
                     data_description={"source": str(Path(data_dir).resolve()),
                                       "synthetic": True,
                                       **generator_record(Path(data_dir))},
                     followup=followup)
    result.card["trained_by"] = trained_by or cli_user()
    started = time.perf_counter()
    registry = Registry(registry_dir)
    version = registry.register(result.model_set, result.card)
    log.info("stage register (write, sign): %.2f s", time.perf_counter() - started)
    if promote:
        registry.promote(version, by=result.card["trained_by"],
                         reason="kapcds train --promote", audit=audit)
    return version


def generator_record(data_dir: Path) -> dict[str, Any]:
    """The generator settings a folder was made with (its ``effects.json``, written by
    ``kapcds generate --with-truth``), for the card; {} when the folder does not say."""
    path = data_dir / "effects.json"
    try:
        effects = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    settings_used = effects.get("settings") if isinstance(effects, dict) else None
    if not isinstance(settings_used, dict):
        return {}
    return {"generator_settings": settings_used, "generator_settings_file": path.name}


def cli_user() -> str:
    """Who runs a command: ``<OS user> (cli)``, or ``cli`` when the OS will not say."""
    try:
        return f"{getpass.getuser()} (cli)"
    except (KeyError, OSError):  # no login name and no passwd entry (e.g. some containers)
        return "cli"


def train_first_model(registry_dir: Path, progress: Progress | None = None,
                      audit: PromotionAudit | None = None) -> str:
    """Generate the seeded first-model cohort, train on it, register and promote."""
    started = time.perf_counter()
    n, seed = settings.FIRST_MODEL_PATIENTS, settings.FIRST_MODEL_SEED
    cohort = generate_cohort(n, seed)
    result = train_model_set(cohort.patients, cohort.sessions, progress=progress,
                             followup=cohort.followup, data_description={
                                 "source": "generated: training.generator.generate.generate_cohort("
                                           f"{n}, seed={seed})",
                                 "synthetic": True, "seed": seed,
                                 "generator_settings": asdict(EffectSettings()),
                                 "store": "the store is seeded with data_samples/ (2,000 "
                                          "other synthetic patients this model never saw)"})
    result.card["trained_by"] = "first run (ensure_model)"
    registry = Registry(registry_dir)
    version = registry.register(result.model_set, result.card)
    registry.promote(version, by="first run (ensure_model)",
                     reason="no model yet: the first model is promoted", audit=audit)
    log.info("first model %s trained on %d generated patients in %.1f s", version, n,
             time.perf_counter() - started)
    return version


def ensure_model(registry_dir: Path | None = None, progress: Progress | None = None,
                 audit: PromotionAudit | None = None) -> str:
    """The current model version, training the first one (``train_first_model``) if none."""
    registry_dir = Path(registry_dir or settings.default_registry_dir())
    registry = Registry(registry_dir)
    current = registry.current_version()
    if current:
        return current
    with file_lock(registry_dir / ".bootstrap.lock"):
        current = registry.current_version()
        if current:
            return current
        log.info("no model yet: training a first one on %d generated patients",
                 settings.FIRST_MODEL_PATIENTS)
        return train_first_model(registry_dir, progress, audit)
