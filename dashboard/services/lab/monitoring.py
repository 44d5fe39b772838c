"""Monitoring view services: a version's realised performance on the store's patients and
the input drift of recent patients (no Streamlit; the figures come from
training.lifecycle.monitor)."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import Engine

from models.contract.schema import outcome
from models.store.card_text import format_ci
from models.store.registry import Registry
from records.db import session_factory
from records.frames import patients_frame, sessions_frame
from records.predictions import newest_patient_ids, predictions_frame
from training.lifecycle.monitor import OutcomeMonitor, VersionMonitor
from training.lifecycle.monitor_clinic import clinic_monitor

SUGGESTION_LABELS = {"": "no action", "recalibration": "recalibration suggested",
                     "retraining": "retraining suggested",
                     "not enough outcomes yet": "not enough outcomes yet"}


def monitor_store(engine: Engine, registry: Registry, version: str, backscore: bool,
                  recent: int, n_boot: int = 200) -> VersionMonitor:
    """Monitor ``version`` on every patient in the store (see training.lifecycle.monitor_clinic)."""
    model_set, card = registry.load(version)
    with session_factory(engine)() as session:
        patients = patients_frame(session)
        sessions = sessions_frame(session)
        predictions = predictions_frame(session, version)
        recent_ids = newest_patient_ids(session, recent)
    return clinic_monitor(version, model_set, card, patients, sessions, predictions,
                          recent_ids, backscore=backscore, n_boot=n_boot)


def lab_updates(result: VersionMonitor) -> list[dict[str, Any]]:
    """The model-lab update that answers each suggestion, in the order of ``result.actions``:
    per suggesting outcome an update of this version by ``auto`` (the command the action
    names), and for input drift a training on the clinic's patients (issue 29)."""
    links: list[dict[str, Any]] = [
        {"version": result.version, "method": "auto", "outcomes": [o.outcome],
         "train": False, "reason": f"{_label(o.outcome)}: {o.suggestion} suggested"}
        for o in result.outcomes if o.suggestion in ("recalibration", "retraining")]
    if len(result.actions) > len(links):  # the inputs drifted: a model on the clinic
        links.append({"version": result.version, "method": None, "outcomes": [],
                      "train": True, "reason": "inputs: retraining suggested"})
    return links


def _label(name: str) -> str:
    try:
        return outcome(name).label
    except KeyError:
        return name


def outcome_table(result: VersionMonitor) -> pd.DataFrame:
    """One row per outcome: n, events, realised AUC and calibration with CIs, the test AUC,
    and what the rule suggests (its reasons are listed with the verdict)."""
    rows: list[dict[str, Any]] = []
    for o in result.outcomes:
        m = o.metrics
        rows.append({"outcome": _label(o.outcome), "n": o.n, "events": o.events,
                     "AUC (realised)": format_ci(m.get("auc"), 2),
                     "AUC (test)": format_ci(o.test_auc, 2),
                     "intercept": format_ci(m.get("calibration_intercept"), 2),
                     "slope": format_ci(m.get("calibration_slope"), 2),
                     "suggestion": SUGGESTION_LABELS.get(o.suggestion, o.suggestion)})
    return pd.DataFrame(rows)


def decile_frame(entry: OutcomeMonitor) -> pd.DataFrame:
    """Observed vs mean predicted per decile of the prediction, with Wilson 95 % CIs."""
    return pd.DataFrame(entry.deciles)


def drift_frame(result: VersionMonitor) -> pd.DataFrame:
    """PSI per feature (largest first) with its reading (stable / moderate / significant)."""
    if result.drift.empty:
        return result.drift
    return result.drift[["label", "psi", "shift"]].rename(
        columns={"label": "feature", "psi": "PSI"})


def cds_override_rates(engine: Engine) -> pd.DataFrame:
    """CDS Hooks cards per card type: shown, accepted, overridden, the override rate and the
    commonest override reason (``records.cds_feedback.override_rates``, issue 26). A high
    override rate for a card type is a monitoring signal like a drop in realised AUC."""
    from records.cds_feedback import override_rates

    with session_factory(engine)() as session:
        frame = override_rates(session)
    frame["override rate"] = frame["override rate"].astype(float) * 100  # 0–100, shown as %
    return frame
