"""The model card of an updated (candidate) version: the current card, re-evaluated on the
clinic's most recent patients, with an ``update`` section saying per outcome which step was
chosen and why, the sample-size numbers and the tests behind it."""

from __future__ import annotations

import copy
from datetime import datetime, timezone
from typing import Any

import pandas as pd

from models.clinical.quality_gate import card_section
from models.contract.schema import ID_COLUMN
from models.store.modelset import ModelSet
from training.evaluate import evaluate_model_set
from training.provenance import fingerprints
from training.train import heldout_predictions
from training.updating.update import OutcomeUpdate

STEP_TEXT = {
    "current": "kept: the current version's model is used unchanged",
    "intercept": "recalibration in the large (new intercept on the log-odds)",
    "logistic": "logistic recalibration (new intercept and slope on the log-odds)",
    "revision": "revision (logistic recalibration + a few new trees on the clinic's patients)",
    "refit": "refit on the clinic's patients",
}
INTERVAL_NOTE = ("Per-patient intervals of an updated outcome are re-estimated on the clinic's "
                 "fitting patients: each of the parent's bootstrap members goes through its "
                 "own update fitted on a resample of them (the update's estimation error), "
                 "plus the parent's approximation-error term, centred on the updated "
                 "prediction; a refit gets its own interval; outcomes kept and the relapse "
                 "model (not updated) keep the parent's.")


def update_card(parent: dict[str, Any], model_set: ModelSet, fit: pd.DataFrame,
                test: pd.DataFrame, results: dict[str, OutcomeUpdate], method: str,
                data_text: str, n_boot: int = 200, seed: int = 0,
                trained_by: str | None = None) -> dict[str, Any]:
    """The candidate's card (registering it is the caller's step)."""
    card = copy.deepcopy(parent)
    card.pop("version", None)
    report = evaluate_model_set(model_set, test, n_boot=n_boot, seed=seed)
    outcomes = report.get("outcomes", {})
    metrics = {name: {key: entry[key] for key in ("n", "prevalence", "auc", "pr_auc", "brier",
                                                  "calibration_intercept",
                                                  "calibration_slope")}
               for name, entry in outcomes.items()}
    metrics.update({k: v for k, v in (parent.get("metrics") or {}).items() if k not in metrics})
    card.update({
        "title": "KAP-CDS outcome models (updated on a clinic's realised outcomes)",
        "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "trained_by": trained_by or "unknown",
        "parent_version": parent.get("version"),
        "metrics": metrics,
        "quality_gate": card_section(metrics),
        "subgroups": {name: entry.get("subgroups", []) for name, entry in outcomes.items()},
        "evaluation": {"split": "the clinic's most recent ended series (never used to fit "
                       "the update)", "n_bootstrap": n_boot, "report": report,
                       "test_predictions": heldout_predictions(model_set, test)},
        "update": {"method": method, "data": data_text, "parent_version": parent.get("version"),
                   "note": INTERVAL_NOTE,
                   "outcomes": {name: {**r.summary(), "step_text": STEP_TEXT[r.step]}
                                for name, r in results.items()}},
    })
    card["patients"] = _patients(parent.get("patients") or {}, fit, test)
    return card


def _patients(parent: dict[str, Any], fit: pd.DataFrame, test: pd.DataFrame) -> dict[str, Any]:
    """Who the candidate has seen: the parent's training and validation patients plus the
    clinic's fitting patients; its test patients are the clinic's recent ones."""
    prints = parent.get("fingerprints") or {}
    ids = parent.get("ids") or {}
    return {**{k: v for k, v in parent.items() if k not in ("fingerprints", "ids")},
            "ids": {"train": [*ids.get("train", []), *fit[ID_COLUMN].astype(str)],
                    "valid": list(ids.get("valid", [])),
                    "test": test[ID_COLUMN].astype(str).tolist()},
            "fingerprints": {"train": [*prints.get("train", []), *fingerprints(fit).tolist()],
                             "valid": list(prints.get("valid", [])),
                             "test": fingerprints(test).tolist()}}


def update_markdown(card: dict[str, Any]) -> str:
    """The card's update section as Markdown lines (appended to the rendered card)."""
    update = card.get("update") or {}
    lines = ["", "## Update on the clinic's realised outcomes", "",
             f"Parent version `{update.get('parent_version')}`; method `{update.get('method')}`;"
             f" {update.get('data', '')}.", "", update.get("note", ""), ""]
    for name, entry in (update.get("outcomes") or {}).items():
        lines.append(f"- **{name}**: {entry['step_text']} — {entry['reason']}.")
        for step, check in entry.get("sample_size", {}).items():
            verdict = "supported" if check["sufficient"] else "refused"
            lines.append(f"  - {step}: {verdict}; {check['text']}")
    return "\n".join(lines) + "\n"
