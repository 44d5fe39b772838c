"""The current model version's card, reduced to what a clinician reads (no Streamlit)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from models.contract.schema import OUTCOMES
from models.store.card_text import format_ci


def card_metrics(card: dict[str, Any]) -> pd.DataFrame:
    """Held-out metrics per outcome with 95 % bootstrap CIs, in schema outcome order."""
    metrics = card.get("metrics", {})
    rows = []
    for spec in OUTCOMES:
        m = metrics.get(spec.name)
        if not m:
            continue
        rows.append({"outcome": spec.label, "test patients": m.get("n"),
                     "observed rate": f"{m.get('prevalence', float('nan')):.0%}",
                     "ROC AUC (95 % CI)": format_ci(m.get("auc"), 2),
                     "Brier (95 % CI)": format_ci(m.get("brier"), 3),
                     "calibration slope (95 % CI)": format_ci(m.get("calibration_slope"), 2)})
    return pd.DataFrame(rows)


@dataclass
class CardSummary:
    """The parts of a model card shown on Home and in Candidate review."""

    version: str
    created: str
    training: str
    intended_use: str
    out_of_scope: list[str] = field(default_factory=list)
    limits: list[str] = field(default_factory=list)
    metrics: pd.DataFrame = field(default_factory=pd.DataFrame)


def card_summary(card: dict[str, Any], version: str) -> CardSummary:
    """Version, training data, intended use, limits and metrics of one card."""
    data = card.get("training_data", {})
    splits = data.get("splits", {}) or {}
    training = (f"{data.get('n_patients', '?')} synthetic patients, "
                f"{data.get('n_sessions', '?')} sessions (train {splits.get('n_train', '?')}, "
                f"validation {splits.get('n_valid', '?')}, test {splits.get('n_test', '?')})")
    return CardSummary(version=version, created=str(card.get("created_utc", "unknown")),
                       training=training, intended_use=str(card.get("intended_use", "")),
                       out_of_scope=list(card.get("out_of_scope", [])),
                       limits=list(card.get("limits", [])), metrics=card_metrics(card))
