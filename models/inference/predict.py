"""Batch prediction: one row per patient with every outcome, eligibility and OOD flags.

This is what the CLI's ``predict`` writes to CSV and what the dashboard's tables read, so
the column names here are a contract (see docs/contracts.md).
"""

from __future__ import annotations

import logging

import pandas as pd

from models.clinical.eligibility import screen_frame
from models.contract.schema import ID_COLUMN
from models.inference.explain import explain_frame
from models.learners.relapse import completed_responders
from models.store.modelset import ModelSet

log = logging.getLogger(__name__)

SHAP_SEPARATOR = "__shap__"


def predict_frame(model_set: ModelSet, patients_df: pd.DataFrame,
                  explain: bool = False) -> pd.DataFrame:
    """Predict every outcome for raw patient rows.

    Columns: ``patient_id``, ``<outcome>_probability`` per outcome, then (versions with
    intervals) ``<outcome>_interval_lo`` and ``_interval_hi`` (``models.learners.uncertainty``,
    ``model_set.interval_level``, 90 %); with ``explain``,
    ``<outcome>_base`` and ``<outcome>__shap__<feature>`` (calibrated log-odds, so base +
    the row's contributions == logit of the probability); then ``eligibility_status``,
    ``exclusions``, ``cautions``, ``ood_overall``, ``ood_features``. When the model set has
    a relapse model: ``relapse_probability`` (relapse within 8 weeks) for rows of
    completed-series responders that give ``phq9_end_of_series`` (plan from
    ``maintenance_schedule``, default none), empty for everyone else, with its per-patient
    interval ``relapse_interval_lo`` / ``_hi`` (same method and level) when the relapse
    model has one.
    """
    out = pd.DataFrame(index=patients_df.index)
    if ID_COLUMN in patients_df:
        out[ID_COLUMN] = patients_df[ID_COLUMN].astype(str)
    logits = model_set.predict_logits(patients_df)  # walked once: probability and interval
    proba = model_set.predict_proba(patients_df, logits)
    for name in model_set.outcomes:
        out[f"{name}_probability"] = proba[name]
    bounds = model_set.predict_interval(patients_df, logits)
    for name in model_set.outcomes:
        if f"{name}_lo" in bounds:
            out[f"{name}_interval_lo"] = bounds[f"{name}_lo"]
            out[f"{name}_interval_hi"] = bounds[f"{name}_hi"]
    if explain:
        blocks = [out]
        for name in model_set.outcomes:
            explanation = explain_frame(model_set, patients_df, name)
            block = explanation.contributions.add_prefix(f"{name}{SHAP_SEPARATOR}")
            block.insert(0, f"{name}_base", explanation.base)
            blocks.append(block)
        out = pd.concat(blocks, axis=1)
    if getattr(model_set, "relapse", None) is not None:
        out["relapse_probability"], bounds = _relapse_probability(model_set, patients_df)
        if bounds is not None:
            out["relapse_interval_lo"], out["relapse_interval_hi"] = bounds
    out = pd.concat([out, screen_frame(patients_df)], axis=1)
    flags = model_set.ood.flags(patients_df)
    out["ood_overall"] = flags["ood_overall"]
    out["ood_features"] = flags["ood_features"]
    log.info("predicted %d patients (%d flagged out of distribution)", len(out),
             int(flags["ood_overall"].sum()))
    return out


def _relapse_probability(model_set: ModelSet, patients_df: pd.DataFrame
                         ) -> tuple[pd.Series, tuple[pd.Series, pd.Series] | None]:
    """Relapse risk where it is defined (completed series, responder); NaN elsewhere; and
    its per-patient interval (None for a relapse model trained without one)."""
    result = pd.Series(float("nan"), index=patients_df.index)
    lo, hi = result.copy(), result.copy()
    has_interval = getattr(model_set.relapse, "interval_", None) is not None
    rows = completed_responders(patients_df)
    if rows.any():
        frame = patients_df.loc[rows]
        if "maintenance_schedule" not in frame:
            frame = frame.assign(maintenance_schedule="none")
        frame = frame.assign(maintenance_schedule=frame["maintenance_schedule"].fillna("none"))
        result.loc[rows] = model_set.relapse.predict_proba(frame)
        bounds = model_set.relapse.predict_interval(frame)
        if bounds is not None:
            lo.loc[rows], hi.loc[rows] = bounds
    return result, ((lo, hi) if has_interval else None)
