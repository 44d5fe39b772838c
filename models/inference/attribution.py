"""Explanations as data: SHAP contributions per clinical feature, their probability effects
and the sentences a clinician reads.

Kept apart from ``explain`` (which runs the model set) so the relapse model and the Dask
scorer use the same wording and aggregation without importing the model set.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from models.contract.schema import feature, feature_names, outcome
from models.learners.calibration import sigmoid

ONE_HOT_SEPARATORS = ("=", "__")


def clinical_feature_of(column: str) -> str:
    """Map a model column to the clinical feature it encodes.

    Categories are native LightGBM categoricals today (one column per feature), but a
    one-hot column such as ``route=iv`` or ``route__iv`` maps back to ``route`` here, the
    one place to change if the encoding ever changes.
    """
    known = set(feature_names())
    if column in known:
        return column
    for sep in ONE_HOT_SEPARATORS:
        head = column.split(sep, 1)[0]
        if sep in column and head in known:
            return head
    return column


@lru_cache(maxsize=64)
def clinical_map(columns: tuple[str, ...]) -> list[str]:
    """The clinical feature of each model column, cached per column tuple (hot path)."""
    return [clinical_feature_of(c) for c in columns]


def aggregate_to_clinical(contributions: pd.DataFrame) -> pd.DataFrame:
    """Sum model-column contributions into one column per clinical feature (order kept)."""
    mapping = clinical_map(tuple(contributions.columns))
    if mapping == list(contributions.columns):
        return contributions
    grouped = contributions.T.groupby(mapping, sort=False).sum().T
    return grouped[list(dict.fromkeys(mapping))]


def probability_effects(contributions: pd.DataFrame, base: float,
                        logits: np.ndarray) -> pd.DataFrame:
    """Allocate p - p_base to features in proportion to their log-odds contributions.

    effect_j = phi_j * (p - p_base) / (logit - base): each contribution times the slope of
    the secant of the logistic curve between baseline and prediction. The effects add up
    to p - p_base exactly and keep each contribution's sign; the secant slope is bounded
    (at most 0.25), and when logit == base it is replaced by the tangent slope.
    """
    logits = np.asarray(logits, dtype=float)
    delta = logits - base
    p, p_base = sigmoid(logits), float(sigmoid(base))
    tangent = p_base * (1.0 - p_base)
    safe = np.abs(delta) > 1e-12
    slope = np.where(safe, (p - p_base) / np.where(safe, delta, 1.0), tangent)
    return contributions.mul(slope, axis=0)


@dataclass
class PatientExplanation:
    """One patient's explanation for one outcome."""

    outcome: str
    base: float
    base_proba: float
    logit: float
    proba: float
    contributions: pd.Series  # calibrated log-odds per clinical feature
    effects: pd.Series  # probability (0-1 scale) per clinical feature; sums to proba - base


@dataclass
class Explanation:
    """A batch of explanations for one outcome (rows aligned with the input frame)."""

    outcome: str
    base: float
    base_proba: float
    contributions: pd.DataFrame
    effects: pd.DataFrame
    logit: pd.Series
    proba: pd.Series

    def row(self, i: int) -> PatientExplanation:
        """The i-th patient (by position) as a PatientExplanation."""
        return PatientExplanation(
            self.outcome, self.base, self.base_proba, float(self.logit.iloc[i]),
            float(self.proba.iloc[i]), self.contributions.iloc[i], self.effects.iloc[i])


def _points(effect: float) -> str:
    points = abs(effect) * 100.0
    if points < 0.95:
        return f"{points:.1f} percentage points"
    rounded = int(round(points))
    return f"{rounded} percentage point{'s' if rounded != 1 else ''}"


def _outcome_phrase(name: str) -> str:
    spec = outcome(name)
    label = spec.label.lower()
    return f"the chance of {label}" if spec.kind == "benefit" else f"the risk of {label}"


def sentences(explanation_row: PatientExplanation, patient_row: pd.Series | Mapping,
              outcome: str, top: int = 5) -> list[str]:
    """The largest effects as clinical sentences, e.g. 'Body-mass index 34 kg/m² raised
    the chance of response by 4 percentage points'."""
    effects = explanation_row.effects
    order = effects.abs().sort_values(ascending=False, kind="stable").index
    phrase = _outcome_phrase(outcome)
    out: list[str] = []
    for name in _take_nonzero(order, effects, top):
        value = patient_row.get(name) if hasattr(patient_row, "get") else patient_row[name]
        verb = "raised" if effects[name] > 0 else "lowered"
        out.append(f"{describe(name, value)} {verb} {phrase} by {_points(effects[name])}")
    return out


def describe(name: str, value: object) -> str:
    """A feature and its value in clinical words: 'Body-mass index 34 kg/m²',
    'Past suicide attempt' / 'No past suicide attempt', 'Route: intravenous ketamine'."""
    spec = feature(name)
    text = spec.format_value(value)
    if spec.dtype == "bool" and text in ("yes", "no"):
        if text == "yes":
            return spec.label
        label = spec.label
        if len(label) > 1 and label[1].islower():
            label = label[0].lower() + label[1:]
        return f"No {label}"
    if spec.dtype == "category" or text == "missing":
        return f"{spec.label}: {text}"
    return f"{spec.label} {text}"


def _take_nonzero(order: Iterable[str], effects: pd.Series, top: int) -> list[str]:
    picked = [name for name in order if abs(effects[name]) > 5e-4]
    return picked[:top]
