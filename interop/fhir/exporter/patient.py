"""One stored patient as a FHIR R4 Bundle: what the CLI and the dashboard download.

Screening values, dosing sessions (Encounter + Observations), the eligibility screen and a
RiskAssessment per outcome that passes the model card's quality gate (an outcome greyed
out on screen is not exported either). A patient with a gap in a model input is refused:
the Bundle would carry predictions made from placeholders (issue 7).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from interop.fhir.exporter.bundle import export_assessment
from models.clinical.eligibility import screen
from models.clinical.quality_gate import reliable_outcomes
from models.contract import schema
from models.store.modelset import ModelSet
from records.followup.frames import visits_frame
from records.frames import sessions_frame
from records.gaps import labels, prediction_blockers
from records.lookup import require_patient

log = logging.getLogger(__name__)


def _uncertainty(model_set: ModelSet, frame: pd.DataFrame, names: list[str]) -> dict[str, str]:
    bounds = model_set.predict_interval(frame)
    out = {}
    for name in names:
        lo, hi = f"{name}_lo", f"{name}_hi"
        if lo in bounds and hi in bounds:
            out[name] = (f"90 % range {float(bounds[lo].iloc[0]):.0%}–"
                         f"{float(bounds[hi].iloc[0]):.0%} (bootstrap models)")
    return out


def recorded_prediction_time(session: Session, patient_id: str, model_version: str,
                             inputs: Mapping[str, Any],
                             predictions: Mapping[str, float]) -> datetime | None:
    """When these very predictions were recorded as shown (same patient, model version,
    inputs hash and probabilities), newest first; None when they never were — then the
    export says so instead of using its own time (issue 23)."""
    from records.predictions import inputs_hash
    from records.tables.lifecycle import PredictionShown

    rows = session.scalars(select(PredictionShown).where(
        PredictionShown.patient_id == patient_id, PredictionShown.model_version == model_version,
        PredictionShown.inputs_sha256 == inputs_hash(inputs)).order_by(
            PredictionShown.id.desc())).all()
    for row in rows:
        shown = row.probabilities or {}
        if predictions and all(name in shown and abs(float(shown[name]) - p) < 1e-6
                               for name, p in predictions.items()):
            return row.shown_at
    return None


def patient_bundle(session: Session, patient_id: str, model_set: ModelSet,
                   card: Mapping[str, Any], model_version: str, *,
                   generated_at: datetime | None = None) -> dict[str, Any]:
    """The patient's validated collection Bundle (``ValueError`` while inputs are missing)."""
    patient = require_patient(session, patient_id)
    blockers = prediction_blockers(patient.data_gaps or [])
    if blockers:
        raise ValueError(f"{patient_id}: no FHIR export while inputs are missing; "
                         f"predictions need: {labels(blockers)}")
    values = patient.features()
    row = {**values, schema.ID_COLUMN: patient.patient_id, schema.NAME_COLUMN: patient.name,
           "ehr_identifiers": list((patient.import_source or {}).get("identifiers") or [])}
    frame = pd.DataFrame([values])
    names = reliable_outcomes(card, [o.name for o in schema.OUTCOMES])
    proba = model_set.predict_proba(frame).iloc[0]
    predictions = {n: float(proba[n]) for n in names if n in proba.index}
    bundle = export_assessment(row, predictions, screen(values), model_version,
                               uncertainty=_uncertainty(model_set, frame, names),
                               generated_at=generated_at,
                               predicted_at=recorded_prediction_time(
                                   session, patient_id, model_version, values, predictions),
                               sessions=sessions_frame(session, patient_id), every_input=True,
                               followup=visits_frame(session, patient_id))
    log.info("FHIR Bundle of %s: %d entries, %d of %d outcomes (quality gate)", patient_id,
             len(bundle.get("entry", [])), len(predictions), len(schema.OUTCOMES))
    return bundle
