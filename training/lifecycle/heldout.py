"""Evaluate a registered version on patients it never saw, and say which patients those are.

``kapcds evaluate`` calls ``evaluate_version``: by default the version's own held-out test
patients (re-read from the folder its card names when the data's hash still matches,
else the test predictions stored in the card); with a data folder, only the patients of
that folder the version neither trained nor validated on (matched by fingerprint,
``training.provenance``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from models.store.modelset import ModelSet
from training.data import load_dataset
from training.evaluate import evaluate_predictions
from training.provenance import data_sha256, fingerprints, heldout_fingerprints, unseen_mask

log = logging.getLogger(__name__)


@dataclass
class VersionEvaluation:
    """A report (as ``training.evaluate.evaluate_model_set``) and what data it rests on."""

    report: dict[str, Any]
    source: str


def _report(frame: pd.DataFrame | None, labels: dict[str, np.ndarray],
            predictions: dict[str, np.ndarray], n_boot: int) -> dict[str, Any]:
    outcomes = {}
    for name, y in labels.items():
        context = frame if frame is not None else pd.DataFrame(index=range(len(y)))
        outcomes[name] = evaluate_predictions(context, y, predictions[name], n_boot)
    n = max((len(y) for y in labels.values()), default=0)
    return {"n_patients": n, "n_bootstrap": n_boot, "outcomes": outcomes}


def _scored(model_set: ModelSet, patients: pd.DataFrame, n_boot: int) -> dict[str, Any]:
    proba = model_set.predict_proba(patients)
    names = [n for n in model_set.outcomes if n in patients]
    return _report(patients, {n: patients[n].astype(int).to_numpy() for n in names},
                   {n: proba[n].to_numpy() for n in names}, n_boot)


def own_test_patients(model_set: ModelSet, card: dict[str, Any],
                      n_boot: int = 200) -> VersionEvaluation:
    """The version's own held-out test patients (ValueError when the card cannot tell)."""
    record = card.get("patients") or {}
    source = (card.get("training_data") or {}).get("source")
    folder = Path(str(source)) if source else None
    if folder is not None and folder.is_dir() and record.get("data_sha256"):
        patients, _ = load_dataset(folder)
        if data_sha256(patients) == record["data_sha256"]:
            held = patients[fingerprints(patients).isin(heldout_fingerprints(card) or set())]
            return VersionEvaluation(
                _scored(model_set, held, n_boot),
                f"its own {len(held):,} held-out test patients, re-scored from {folder} "
                f"(data SHA-256 {record['data_sha256'][:12]}… matches the card)")
        log.warning("%s changed since the version was trained; using stored predictions",
                    folder)
    stored = (card.get("evaluation") or {}).get("test_predictions")
    if stored:
        labels = {k: np.asarray(v["y"], dtype=int) for k, v in stored.items()}
        n = max(len(v) for v in labels.values())
        return VersionEvaluation(
            _report(None, labels, {k: np.asarray(v["p"], dtype=float)
                                   for k, v in stored.items()}, n_boot),
            f"its own {n:,} held-out test patients, from the predictions stored in its model "
            "card (the training data is not available to re-score)")
    raise ValueError(f"version {card.get('version', '?')} records neither its test patients' "
                     "data nor their predictions; give --data with patients it never saw")


def unseen_patients(model_set: ModelSet, card: dict[str, Any], data_dir: Path,
                    n_boot: int = 200, min_patients: int = 30) -> VersionEvaluation:
    """Patients of ``data_dir`` this version neither trained nor validated on."""
    patients, _ = load_dataset(data_dir)
    keep = unseen_mask(patients, [card])
    held = patients[keep]
    if len(held) < min_patients:
        raise ValueError(f"only {len(held):,} of the {len(patients):,} patients in {data_dir} "
                         f"are new to version {card.get('version', '?')} (at least "
                         f"{min_patients} needed); the rest trained or validated it")
    return VersionEvaluation(
        _scored(model_set, held, n_boot),
        f"{len(held):,} of the {len(patients):,} patients in {data_dir} "
        f"({len(patients) - len(held):,} left out: this version trained or validated on them)")
