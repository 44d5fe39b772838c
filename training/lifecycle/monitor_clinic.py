"""Monitoring a version on a clinic's records: realised outcomes of ended series joined to
the predictions clinicians were shown (and, on request, back-scored unseen patients).

Takes plain frames (``records.frames.patients_frame`` / ``sessions_frame``,
``records.predictions.predictions_frame``) so the dashboard and the CLI compute the same
figures from the same store reads.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from models.clinical.session_alerts import in_treatment
from models.contract.schema import ID_COLUMN, outcome_names
from models.store.modelset import ModelSet
from training.lifecycle.monitor import VersionMonitor, monitor_version
from training.outcomes import derive_outcomes
from training.provenance import unseen_mask

log = logging.getLogger(__name__)


def ended_series(patients: pd.DataFrame, sessions: pd.DataFrame) -> pd.DataFrame:
    """Realised outcomes (reference §1/§3 definitions) of patients whose series has ended:
    sessions recorded and either the planned number reached or a dropout recorded."""
    if sessions.empty:
        return pd.DataFrame(columns=[ID_COLUMN, *outcome_names()])
    with_sessions = set(sessions[ID_COLUMN].astype(str))
    ongoing = set(in_treatment(patients, sessions).astype(str))
    ended = patients[patients[ID_COLUMN].astype(str).isin(with_sessions - ongoing)]
    if "data_gaps" in ended:
        ended = ended[ended["data_gaps"].map(lambda g: not g)]
    outcomes = derive_outcomes(ended, sessions[sessions[ID_COLUMN].isin(ended[ID_COLUMN])])
    return ended.drop(columns=[c for c in outcome_names() if c in ended]).join(
        outcomes[outcome_names()], on=ID_COLUMN).reset_index(drop=True)


def _recorded(realised: pd.DataFrame, predictions: pd.DataFrame,
              version: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Ended patients with a recorded prediction of ``version`` (their first one)."""
    mine = predictions[predictions["model_version"] == version] if len(predictions) else \
        predictions
    if mine.empty:
        return realised.iloc[:0], pd.DataFrame(columns=outcome_names())
    first = mine.sort_values("id").drop_duplicates(ID_COLUMN).set_index(ID_COLUMN)
    labelled = realised[realised[ID_COLUMN].isin(first.index)].reset_index(drop=True)
    proba = first.loc[labelled[ID_COLUMN], [c for c in outcome_names() if c in first]]
    return labelled, proba.reset_index(drop=True).astype(float)


def recorded_outcomes(version: str, patients: pd.DataFrame, sessions: pd.DataFrame,
                      predictions: pd.DataFrame
                      ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(every ended induction series, those with a recorded prediction of ``version``,
    those predictions): what local validity and local fairness are measured on.
    Maintenance sessions (``phase``) are left out, as the outcomes were defined without."""
    if "phase" in sessions:
        sessions = sessions[sessions["phase"].fillna("induction") == "induction"]
    realised = ended_series(patients, sessions)
    labelled, proba = _recorded(realised, predictions, version)
    return realised, labelled, proba


def clinic_monitor(version: str, model_set: ModelSet, card: dict[str, Any],
                   patients: pd.DataFrame, sessions: pd.DataFrame, predictions: pd.DataFrame,
                   recent_ids: list[str], backscore: bool = False,
                   n_boot: int = 200) -> VersionMonitor:
    """Monitor ``version`` on the clinic: recorded predictions of ended series, plus (with
    ``backscore``) every other ended series the version never trained or validated on,
    scored now; drift of the ``recent_ids`` patients against the training profile.
    Outcomes are those of the induction series: maintenance sessions (``phase``) after it
    are left out, as the outcomes were defined without them."""
    realised, labelled, proba = recorded_outcomes(version, patients, sessions, predictions)
    source = f"{len(labelled):,} ended series with a prediction recorded when shown"
    if backscore:
        rest = realised[~realised[ID_COLUMN].isin(labelled[ID_COLUMN])].reset_index(drop=True)
        rest = rest[unseen_mask(rest, [card])] if len(rest) else rest
        if len(rest):
            extra = model_set.predict_proba(rest)[proba.columns.tolist() or outcome_names()]
            labelled = pd.concat([x for x in (labelled, rest) if len(x)], ignore_index=True)
            proba = pd.concat([x for x in (proba, extra.reset_index(drop=True)) if len(x)],
                              ignore_index=True)
        source += (f" + {len(rest):,} other ended series back-scored now (patients this "
                   "version neither trained nor validated on)")
    recent = patients[patients[ID_COLUMN].astype(str).isin(set(recent_ids))]
    if "data_gaps" in recent:
        recent = recent[recent["data_gaps"].map(lambda g: not g)]
    log.info("monitor %s: %d labelled, %d recent", version, len(labelled), len(recent))
    return monitor_version(version, card, labelled, proba, recent, source, n_boot)
