"""Data gaps: features stored only as a placeholder, and which of them block what.

A gap's column holds the schema default (feature columns are NOT NULL), so every reader
that predicts or screens must ask here first: a placeholder is never a value.
"""

from __future__ import annotations

from collections.abc import Iterable

from models.clinical.eligibility import REQUIRED_INPUTS
from models.contract.schema import feature, feature_names, model_feature_names


def gap_list(gaps: Iterable[str]) -> list[str]:
    """Gaps in schema order; unknown names are refused (a typo must not hide a gap)."""
    wanted = set(gaps)
    unknown = wanted - set(feature_names())
    if unknown:
        raise ValueError(f"unknown gap feature(s): {', '.join(sorted(unknown))}")
    return [name for name in feature_names() if name in wanted]


def prediction_blockers(gaps: Iterable[str]) -> list[str]:
    """Gaps that are model inputs: no prediction may be shown while any remains."""
    wanted = set(gaps)
    return [name for name in model_feature_names() if name in wanted]


def screen_blockers(gaps: Iterable[str]) -> list[str]:
    """Gaps among the eligibility screen's required inputs (it cannot run without them)."""
    wanted = set(gaps)
    return [name for name in feature_names() if name in wanted and name in REQUIRED_INPUTS]


def labels(names: Iterable[str]) -> str:
    """Feature labels for a message, e.g. ``PHQ-9 at baseline, BMI``."""
    return ", ".join(feature(name).label for name in names)
