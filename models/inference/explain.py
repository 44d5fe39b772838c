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

from models.contract.doses import matrix_dose_contributions
from models.inference.attribution import (  # noqa: F401  (re-exported for callers)
    Explanation,
    PatientExplanation,
    aggregate_to_clinical,
    clinical_feature_of,
    clinical_map,
    describe,
    probability_effects,
    sentences,
)
from models.kernels.hotpath import outcome_matrices
from models.learners.calibration import sigmoid
from models.store.modelset import ModelSet


def explain_frame(model_set: ModelSet, df: pd.DataFrame, outcome: str) -> Explanation:
    """Exact SHAP explanation of one outcome for a batch of raw patient rows."""
    return explain_all(model_set, df, [outcome])[outcome]


def explain_all(model_set: ModelSet, df: pd.DataFrame,
                outcomes: Iterable[str] | None = None) -> dict[str, Explanation]:
    """``explain_frame`` for several outcomes (default every one), converting the rows once.

    The margin and the SHAP values are read from the same converted matrix
    (``models.kernels.hotpath``): the probability is LightGBM's, the values FastTreeShap's.
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
    raw, names = matrix_dose_contributions(raw, matrix, list(model.feature_names_))
    base = float(model.a_ * expected[0] + model.b_)
    columns = aggregate_to_clinical(pd.DataFrame(raw * model.a_, index=index, columns=names))
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
    split, columns = matrix_dose_contributions(values[None, :-1], matrix[:1],
                                               list(model.feature_names_))
    contributions = split[0] * model.a_
    clinical = clinical_map(tuple(columns))
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


def global_importance(model_set: ModelSet, df: pd.DataFrame, outcome: str) -> pd.Series:
    """Mean |SHAP| on the calibrated log-odds scale per clinical feature (cohort view)."""
    explanation = explain_frame(model_set, df, outcome)
    return explanation.contributions.abs().mean().sort_values(ascending=False)
