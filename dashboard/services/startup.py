"""What the dashboard needs before its first page: a migrated, seeded store and a model.

Both first-run steps live in their own layers (``records.first_run``,
``training.lifecycle.first_run``);
this joins them for the server (no Streamlit here, so tests can call it too).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy.engine import Engine

from base import settings
from models.contract.schema import ID_COLUMN, defaults
from models.inference.explain import explain_all
from models.inference.predict import predict_frame
from models.learners.uncertainty import STACKED_MIN_ROWS
from models.store.modelset import ModelSet
from models.store.registry import Registry
from records.audit.registry_events import promotion_audit, refusal_audit
from records.first_run import ensure_store
from records.security.policy import SYSTEM_ROLE, Actor
from training.lifecycle.first_run import ensure_model
from training.train import Progress

log = logging.getLogger(__name__)


@dataclass
class Ready:
    """A store engine, the registry folder and the version current at start."""

    engine: Engine
    registry_dir: Path
    version: str


def ensure_ready(progress: Progress | None = None) -> Ready:
    """Model and store both ready (idempotent; cheap after the first run)."""
    registry_dir = settings.default_registry_dir()
    engine = ensure_store()  # first, so a first model's promotion is audited in it
    version = ensure_model(registry_dir, progress, audit=promotion_audit(
        engine, Actor("system:first-run", SYSTEM_ROLE)))
    return Ready(engine=engine, registry_dir=registry_dir, version=version)


def current_version(ready: Ready) -> str | None:
    """The version the signed promotion record names; an edited or unsigned ``CURRENT``
    is refused (RegistryError) and audited once."""
    refused = refusal_audit(ready.engine, Actor("system:dashboard", SYSTEM_ROLE))
    return Registry(ready.registry_dir, refused=refused).current_version()


def warm_up(model_set: ModelSet) -> None:
    """Build the compiled explainers and tree walks and load the numba kernels once, when a
    model version is loaded: otherwise the first clinician to open a patient waits for
    them (measured at 100,000 patients: 1.2 s for the first explanation, 3.1 s for the
    first interval). Runs on the schema's blank template; the results are thrown away.
    """
    row = pd.DataFrame([{ID_COLUMN: "warm-up", **defaults()}])
    try:
        predict_frame(model_set, row)
        explain_all(model_set, row)
        # a page of rows takes the stacked kernels, built on first use: 1.3 s of Candidate
        # review's first page at 100,000 patients before this (issue 31)
        predict_frame(model_set, pd.concat([row] * STACKED_MIN_ROWS, ignore_index=True))
    except Exception as error:  # noqa: BLE001 - only a head start; the request will tell
        log.warning("model warm-up skipped (%s: %s); the first request builds the kernels",
                    type(error).__name__, error)
