"""What every service call gets: the store engine, the current model set and its card.

Also the display labels shared by the pages and the cheap fingerprints of the store that
key the cohort caches (no Streamlit here).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, select

from dashboard.services.patients.gaps import (
    INCOMPLETE,
)
from models.store.modelset import ModelSet
from records.db import session_factory
from records.tables.clinical import Patient, TreatmentSession

log = logging.getLogger(__name__)


STATUS_LABELS = {
    "eligible": "eligible", "eligible_with_cautions": "eligible with cautions",
    "not_eligible": "not eligible", "no_indication": "no indication",
    INCOMPLETE: "inputs missing",
}


HOME_TITLES = {"clinician": "KAP-CDS clinician workspace",
               "data_scientist": "KAP-CDS model workspace",
               "trainee": "KAP-CDS training workspace",
               "admin": "KAP-CDS administration"}
DECISION_LABELS = {"proceed": "proceed", "proceed_with_cautions": "proceed with cautions",
                   "do_not_proceed": "do not proceed"}


@dataclass(frozen=True)
class Workspace:
    """Everything a request needs: the store, the current model set and its card."""

    engine: Engine
    model_set: ModelSet
    card: dict[str, Any]
    version: str


def probability_column(name: str) -> str:
    """Column of ``cohort_table`` holding an outcome's predicted probability."""
    return f"{name}_probability"


def patients_fingerprint(engine: Engine) -> tuple[int, str]:
    """Cheap summary that changes whenever a patient is added or edited (a cache key)."""
    with session_factory(engine)() as session:
        count, last = session.execute(
            select(func.count(Patient.id), func.max(Patient.updated_at))).one()
    return int(count), str(last)


def sessions_fingerprint(engine: Engine) -> tuple[int, str]:
    """Cheap summary that changes whenever a session is recorded (a cache key)."""
    with session_factory(engine)() as session:
        count, last = session.execute(select(func.count(TreatmentSession.id),
                                             func.max(TreatmentSession.recorded_at))).one()
    return int(count), str(last)
