"""Exact TreeSHAP explanations per clinical feature, on the log-odds and probability scales.

LightGBM's ``pred_contrib`` gives exact TreeSHAP values of the raw margin. The Platt map is
affine in the margin, so scaling them by ``a_`` (and the base by ``a_ * base + b_``) gives
exact contributions to the calibrated log-odds: base + sum(contributions) == logit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from models.calibration import sigmoid
from models.hotpath import outcome_matrices
from models.modelset import ModelSet
from models.schema import feature, feature_names, outcome

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
def _clinical_map(columns: tuple[str, ...]) -> list[str]:
    return [clinical_feature_of(c) for c in columns]


def aggregate_to_clinical(contributions: pd.DataFrame) -> pd.DataFrame:
    """Sum model-column contributions into one column per clinical feature (order kept)."""
    mapping = _clinical_map(tuple(contributions.columns))
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


def explain_frame(model_set: ModelSet, df: pd.DataFrame, outcome: str) -> Explanation:
    """Exact SHAP explanation of one outcome for a batch of raw patient rows."""
    return explain_all(model_set, df, [outcome])[outcome]


def explain_all(model_set: ModelSet, df: pd.DataFrame,
                outcomes: Iterable[str] | None = None) -> dict[str, Explanation]:
    """``explain_frame`` for several outcomes (default every one), converting the rows once.

    The margin and the SHAP values are read from the same converted matrix
    (``models.hotpath``): the probability is LightGBM's, the values FastTreeShap's.
    """
    names = list(model_set.outcomes if outcomes is None else outcomes)
    subset = {n: model_set.outcome_models[n] for n in names}
    matrices = outcome_matrices(_OutcomeView(model_set, subset), df)
    return {name: _explanation(name, model, matrices[name], df.index)
            for name, model in subset.items()}


@dataclass
class _OutcomeView:
    """The part of a model set ``outcome_matrices`` reads, limited to some outcomes."""

    whole: ModelSet
    outcome_models: dict

    @property
    def feature_names(self) -> list[str]:
        return self.whole.feature_names


def _explanation(name: str, model, matrix: np.ndarray, index: pd.Index) -> Explanation:
    explainer = model.fast_explainer()
    values = explainer.shap_values_matrix(matrix)
    raw, expected = values[:, :-1], values[:, -1]
    base = float(model.a_ * expected[0] + model.b_)
    columns = aggregate_to_clinical(pd.DataFrame(raw * model.a_, index=index,
                                                 columns=model.feature_names_))
    logits = model.logit_matrix(matrix)
    return Explanation(
        outcome=name, base=base, base_proba=float(sigmoid(base)), contributions=columns,
        effects=probability_effects(columns, base, logits),
        logit=pd.Series(logits, index=index, name="logit"),
        proba=pd.Series(sigmoid(logits), index=index, name="proba"),
    )


def explain_patient(model_set: ModelSet, patient_row: pd.Series | Mapping,
                    outcome: str) -> PatientExplanation:
    """Explanation of one outcome for a single patient (a Series or a dict of inputs)."""
    return explain_patient_all(model_set, patient_row, [outcome])[outcome]


def explain_patient_all(model_set: ModelSet, patient_row: pd.Series | Mapping,
                        outcomes: Iterable[str] | None = None) -> dict[str, PatientExplanation]:
    """One patient's explanation of several outcomes (default all), the row converted once:
    the one-patient hot path (no model frame, no pandas conversion for plain values)."""
    names = list(model_set.outcomes if outcomes is None else outcomes)
    subset = {n: model_set.outcome_models[n] for n in names}
    row = patient_row if isinstance(patient_row, Mapping) else dict(patient_row.items())
    label = getattr(patient_row, "name", None) if isinstance(patient_row, pd.Series) else None
    matrices = outcome_matrices(_OutcomeView(model_set, subset), row)
    return {name: _patient(name, model, matrices[name], 0 if label is None else label)
            for name, model in subset.items()}


def _patient(name: str, model, matrix: np.ndarray, label: object) -> PatientExplanation:
    values = model.fast_explainer().shap_values_matrix(matrix)[0]
    base = float(model.a_ * values[-1] + model.b_)
    logit_value = float(model.logit_matrix(matrix)[0])
    contributions = values[:-1] * model.a_
    columns = list(model.feature_names_)
    clinical = _clinical_map(tuple(columns))
    delta = logit_value - base
    p, p_base = float(sigmoid(logit_value)), float(sigmoid(base))
    slope = (p - p_base) / delta if abs(delta) > 1e-12 else p_base * (1.0 - p_base)
    if clinical != columns:
        series = aggregate_to_clinical(pd.DataFrame([contributions], columns=columns)).iloc[0]
        series.name = label
        return PatientExplanation(name, base, p_base, logit_value, p, series, series * slope)
    index = _index(tuple(columns))  # one Index per model, shared by every patient's Series
    return PatientExplanation(
        name, base, p_base, logit_value, p,
        pd.Series(contributions, index=index, name=label, copy=False),
        pd.Series(contributions * slope, index=index, name=label, copy=False))


@lru_cache(maxsize=64)
def _index(columns: tuple[str, ...]) -> pd.Index:
    return pd.Index(columns)


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


def global_importance(model_set: ModelSet, df: pd.DataFrame, outcome: str) -> pd.Series:
    """Mean |SHAP| on the calibrated log-odds scale per clinical feature (cohort view)."""
    explanation = explain_frame(model_set, df, outcome)
    return explanation.contributions.abs().mean().sort_values(ascending=False)
