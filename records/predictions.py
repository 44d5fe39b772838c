"""Predictions shown to clinicians: record what was on screen, read them for monitoring.

``record_prediction`` runs inside the caller's transaction (like ``records.audit.trail.record``);
``inputs_sha256`` hashes the model inputs in canonical JSON, so the same inputs always give
the same hash and a changed input is visible.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import pandas as pd
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from records.db import session_factory
from records.tables.lifecycle import CONTEXTS, PredictionShown


def inputs_hash(values: Mapping[str, Any]) -> str:
    """SHA-256 of the inputs as canonical JSON (sorted keys, plain Python values)."""
    plain = {str(k): (v.item() if hasattr(v, "item") else v) for k, v in values.items()}
    text = json.dumps(plain, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def record_prediction(session: Session, *, patient_id: str, model_version: str,
                      inputs: Mapping[str, Any], probabilities: Mapping[str, float],
                      intervals: Mapping[str, tuple[float, float]] | None, context: str,
                      username: str) -> PredictionShown:
    """Add one shown prediction to ``session`` (committed by the caller)."""
    if context not in CONTEXTS:
        raise ValueError(f"unknown context {context!r}; use one of {', '.join(CONTEXTS)}")
    row = PredictionShown(
        patient_id=str(patient_id), model_version=str(model_version),
        inputs_sha256=inputs_hash(inputs),
        probabilities={k: round(float(v), 6) for k, v in probabilities.items()},
        intervals=None if not intervals else {
            k: [round(float(lo), 6), round(float(hi), 6)] for k, (lo, hi) in intervals.items()},
        context=context, username=str(username))
    session.add(row)
    return row


def record_prediction_now(engine: Engine, **values: Any) -> None:
    """``record_prediction`` in its own transaction."""
    with session_factory(engine)() as session:
        record_prediction(session, **values)
        session.commit()


def predictions_frame(session: Session, model_version: str | None = None) -> pd.DataFrame:
    """Recorded predictions, oldest first: id, patient, version, hash, context, time and one
    ``<outcome>`` column per recorded probability."""
    stmt = select(PredictionShown).order_by(PredictionShown.id)
    if model_version is not None:
        stmt = stmt.where(PredictionShown.model_version == model_version)
    rows = [{"id": r.id, "patient_id": r.patient_id, "model_version": r.model_version,
             "inputs_sha256": r.inputs_sha256, "context": r.context, "username": r.username,
             "shown_at": r.shown_at, **r.probabilities}
            for r in session.scalars(stmt)]
    columns = ["id", "patient_id", "model_version", "inputs_sha256", "context", "username",
               "shown_at"]
    return pd.DataFrame(rows, columns=None if rows else columns)


def newest_patient_ids(session: Session, n: int) -> list[str]:
    """The ``n`` patients most recently added to the store, newest first."""
    from records.tables.clinical import Patient

    stmt = select(Patient.patient_id).order_by(Patient.id.desc()).limit(int(n))
    return list(session.scalars(stmt))
