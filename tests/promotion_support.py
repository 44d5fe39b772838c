"""A candidate version that is worse than the current one in a known way, for the promotion
tests (issue 23, defect 7): the current model set registered again under a card whose
held-out AUCs are 0.03 lower for every outcome the gate shows, and whose dissociation
outcome (or, if the gate already greys it, the first shown outcome) falls below the gate.

The models are the current ones, so a paired comparison on unseen patients finds no
difference: only the card's evidence is worse, which is what the review must read and name.
Registering with the registry's own key keeps the candidate signed like any other.
"""

from __future__ import annotations

import copy

from base.settings import QUALITY_GATE_MIN_AUC_LOWER
from models.clinical.quality_gate import card_section, outcome_quality
from models.contract.schema import outcome, outcome_names
from models.store.registry import Registry

PREFERRED = "significant_dissociation"  # the outcome the defect report saw greyed


def worse_candidate(registry: Registry) -> tuple[str, str, list[str]]:
    """(version, label of the outcome it greys, labels of every outcome it makes worse)."""
    model_set, card = registry.load()
    shown = [n for n in outcome_names() if outcome_quality(card, n).reliable]
    greyed = PREFERRED if PREFERRED in shown else shown[0]
    metrics = copy.deepcopy(card["metrics"])
    for name in shown:
        metrics[name]["auc"] = {k: metrics[name]["auc"][k] - 0.03 for k in ("value", "lo", "hi")}
    auc = metrics[greyed]["auc"]
    auc["lo"] = QUALITY_GATE_MIN_AUC_LOWER - 0.04
    auc["value"] = max(auc["value"], auc["lo"] + 0.01)
    data = {**card.get("training_data", {}), "source": "promotion test candidate"}
    worse = {k: v for k, v in card.items() if k != "version"}
    worse.update(metrics=metrics, quality_gate=card_section(metrics), training_data=data,
                 trained_by="promotion test")
    version = registry.register(model_set, worse)
    return version, outcome(greyed).label, [outcome(n).label for n in shown]
