"""What a clinician was shown, recorded for monitoring (issue 14, part 3).

Every prediction seen (candidate review), decided on (a recorded decision) or printed (the
PDF report) is stored with the model version, the inputs' hash and the probabilities and
intervals, in ``records.predictions`` (append-only). Monitoring later joins these to the
realised outcomes of the patient's series.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from models.contract.schema import FEATURES, OUTCOMES
from records.gaps import prediction_blockers
from records.predictions import record_prediction
from records.tables.clinical import Patient


def shown_values(version: str, inputs: dict[str, Any], row: pd.Series) -> dict[str, Any]:
    """``record_prediction`` keywords from a cohort-table (or ``predict_frame``) row."""
    probabilities = {o.name: float(row[f"{o.name}_probability"]) for o in OUTCOMES
                     if f"{o.name}_probability" in row.index}
    intervals = {o.name: (float(row[f"{o.name}_interval_lo"]),
                          float(row[f"{o.name}_interval_hi"]))
                 for o in OUTCOMES if f"{o.name}_interval_lo" in row.index}
    return {"model_version": version, "inputs": inputs, "probabilities": probabilities,
            "intervals": intervals or None}


def record_from_cohort(session: Session, version: str, cohort: pd.DataFrame,
                       patient_id: str, context: str, username: str) -> bool:
    """Record the cohort table's prediction for a patient; False when it has none (gaps)."""
    row = cohort.loc[patient_id]
    if list(row.get("prediction_gaps", []) or []):
        return False
    inputs = {f.name: row[f.name] for f in FEATURES}
    record_prediction(session, patient_id=patient_id, context=context, username=username,
                      **shown_values(version, inputs, row))
    return True


def record_for_patient(session: Session, model_set: Any, version: str, patient: Patient,
                       context: str, username: str) -> bool:
    """Predict a stored patient now and record it (a decision); False with model gaps."""
    if prediction_blockers(list(patient.data_gaps or [])):
        return False
    from models.inference.predict import predict_frame

    inputs = patient.features()
    row = predict_frame(model_set, pd.DataFrame([{"patient_id": patient.patient_id,
                                                  **inputs}])).iloc[0]
    record_prediction(session, patient_id=patient.patient_id, context=context,
                      username=username, **shown_values(version, inputs, row))
    return True
