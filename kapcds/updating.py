"""Updating and training on the clinic's own patients, shared by `kapcds update`,
`kapcds train --from-store` and the worker that runs the model lab's jobs (issue 29): one
code path, so the lab's candidate is the one the CLI would have registered.

The store is read here (``training`` never reads it) and plain frames go to
``training.updating``; the result is registered as a candidate, never promoted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from models.store.registry import Registry
from training.updating.card import STEP_TEXT

log = logging.getLogger(__name__)


@dataclass
class UpdateRun:
    """What one update did: the candidate (None: every outcome kept) and per outcome why."""

    version: str | None
    parent: str
    data: str
    results: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """Plain data (the job's stored result, read by the lab)."""
        return {"kind": "update", "version": self.version, "parent": self.parent,
                "data": self.data, "outcomes": {name: {**r.summary(),
                                                       "step_text": STEP_TEXT[r.step]}
                                                for name, r in self.results.items()}}


def store_clinic(engine: Engine | None = None, test_fraction: float | None = None):
    """The store's ended series as ``training.updating.clinic_data.ClinicData``; arrival
    order = the store's insertion order (what "recent patients" means in monitoring)."""
    from records.db import make_engine, session_factory
    from records.frames import patients_frame, sessions_frame
    from records.migrate import upgrade
    from records.predictions import newest_patient_ids
    from training.updating.clinic_data import TEST_FRACTION, clinic_dataset

    own = engine is None
    engine = engine or make_engine()
    try:
        if own:
            upgrade(engine)
        with session_factory(engine)() as session:
            patients, sessions = patients_frame(session), sessions_frame(session)
            arrival = list(reversed(newest_patient_ids(session, len(patients))))
    finally:
        if own:
            engine.dispose()
    return clinic_dataset(patients, sessions, arrival, test_fraction or TEST_FRACTION)


def train_from_store(registry_dir: Path, user: str, seed: int = 0, progress=None,
                     engine: Engine | None = None, n_bootstrap: int = 200,
                     params: dict[str, Any] | None = None) -> str:
    """A full training on the clinic's ended series, the most recent patients as the test
    split; registered as a candidate (the caller promotes only when asked)."""
    from training.train import train_model_set

    clinic = store_clinic(engine)
    result = train_model_set(clinic.patients, clinic.sessions, params=params, seed=seed,
                             progress=progress, n_bootstrap=n_bootstrap,
                             data_description={"source": "the clinic's store",
                                               "synthetic": False,
                                               "description": clinic.describe()},
                             test_ids=clinic.test["patient_id"].astype(str).tolist())
    result.card["trained_by"] = user
    return Registry(registry_dir).register(result.model_set, result.card)


def update_version(models: Registry, version: str | None, clinic, method: str, user: str,
                   seed: int = 0, n_boot: int = 200,
                   outcomes: list[str] | None = None) -> UpdateRun:
    """Update ``version`` (None: the current one) on ``clinic``; a candidate is registered
    when any outcome changed, with the card saying per outcome which step and why."""
    from models.store.card_text import render_card_markdown
    from training.updating.card import update_card, update_markdown
    from training.updating.update import update_model_set

    model_set, card = models.load(version)
    updated, results = update_model_set(model_set, clinic.fit, clinic.test, method, seed,
                                        n_boot, outcomes or None)
    registered = None
    if updated is not None:
        new_card = update_card(card, updated, clinic.fit, clinic.test, results, method,
                               clinic.describe(), n_boot, seed, user)
        registered = models.register(updated, new_card, render_card_markdown(new_card)
                                     + update_markdown(new_card))
    log.info("update of %s by %s (%s): %s", card["version"], user, method,
             registered or "every outcome kept")
    return UpdateRun(registered, card["version"], clinic.describe(), results)
