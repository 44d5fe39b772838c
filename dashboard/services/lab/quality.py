"""The per-outcome quality gate as the dashboard pages need it (no Streamlit here).

The rule is ``models.clinical.quality_gate``'s; this module only answers the pages' questions: which
outcomes to show, which to grey out and with what words, and a cohort table with the gated
outcomes' probabilities withheld.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from dashboard.services.workspace import probability_column
from models.clinical.quality_gate import UNRELIABLE, OutcomeQuality, outcome_quality
from models.contract.schema import OUTCOMES, outcome

UNRELIABLE_MANY = "these models do not reliably rank patients for these outcomes"


def shown_outcomes(card: Mapping[str, Any] | None) -> list[str]:
    """The outcomes (schema order) whose predictions pages may show."""
    return [o.name for o in OUTCOMES if outcome_quality(card, o.name).reliable]


def greyed_outcomes(card: Mapping[str, Any] | None) -> list[OutcomeQuality]:
    """The gate's verdicts on the outcomes that pages grey out (schema order)."""
    verdicts = [outcome_quality(card, o.name) for o in OUTCOMES]
    return [q for q in verdicts if not q.reliable]


def greyed_line(quality: OutcomeQuality) -> str:
    """``**Nausea or vomiting**: not shown — this model does not reliably rank …``
    (Markdown)."""
    rate = ("" if quality.prevalence is None else
            f" Overall, it happened to {quality.prevalence:.0%} of held-out test patients.")
    return f"**{outcome(quality.name).label}**: not shown — {UNRELIABLE}.{rate}"


def greyed_note(card: Mapping[str, Any] | None) -> str:
    """One sentence naming every greyed outcome (for captions under charts), or ''."""
    greyed = greyed_outcomes(card)
    if not greyed:
        return ""
    names = ", ".join(outcome(q.name).label for q in greyed)
    why = UNRELIABLE if len(greyed) == 1 else UNRELIABLE_MANY
    return f"Not shown: {names} — {why} (quality gate, model card)."


def withhold(cohort: pd.DataFrame, card: Mapping[str, Any] | None) -> pd.DataFrame:
    """A copy of a cohort table with every gated outcome's probability emptied (NaN)."""
    out = cohort.copy()
    for quality in greyed_outcomes(card):
        column = probability_column(quality.name)
        if column in out.columns:
            out[column] = np.nan
    return out
