"""Everything one registered model version holds, in one picklable object."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from models.contract.features import to_model_frame
from models.kernels.hotpath import outcome_matrices
from models.learners.calibration import sigmoid
from models.learners.estimators import OutcomeModel, TrajectoryModel
from models.learners.ood import OODDetector

# models.learners.relapse imports models.inference.explain, which imports this module
if TYPE_CHECKING:
    from models.learners.relapse import RelapseModel
    from models.learners.uncertainty import ProbabilityInterval


@dataclass
class ModelSet:
    """One calibrated model per outcome, the PHQ-9 trajectory model and the OOD detector.

    Kept together so a version is loaded, verified and promoted as a unit: predictions,
    explanations and flags always come from models trained on the same data.
    """

    outcome_models: dict[str, OutcomeModel]
    trajectory: TrajectoryModel
    ood: OODDetector
    feature_names: list[str]
    schema_hash: str
    train_summary: dict[str, Any] = field(default_factory=dict)
    relapse: RelapseModel | None = None  # relapse within 8 weeks (trained with follow-up)
    # Per-patient interval per outcome (models.learners.uncertainty); None for older versions.
    intervals: dict[str, ProbabilityInterval] | None = None

    @property
    def outcomes(self) -> list[str]:
        """Outcome names in the order the models were trained."""
        return list(self.outcome_models)

    def model_frame(self, df: pd.DataFrame) -> pd.DataFrame:
        """Raw patient rows -> model inputs in this version's feature order."""
        return to_model_frame(df)[self.feature_names]

    def predict_logits(self, df: pd.DataFrame) -> dict[str, np.ndarray]:
        """Calibrated log-odds of every outcome (what ``predict_proba`` is the sigmoid of)."""
        matrices = outcome_matrices(self, df)
        return {name: model.logit_matrix(matrices[name])
                for name, model in self.outcome_models.items()}

    def predict_proba(self, df: pd.DataFrame,
                      logits: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
        """Calibrated probability of every outcome, one column per outcome.

        The rows are converted once for all outcomes (``models.kernels.hotpath``); the numbers are
        LightGBM's own (``OutcomeModel.predict_proba``), bit for bit. ``logits``: this
        frame's ``predict_logits``, when the caller needs them too (not walked twice).
        """
        logits = self.predict_logits(df) if logits is None else logits
        return pd.DataFrame({name: sigmoid(logits[name]) for name in self.outcome_models},
                            index=df.index)

    def predict_interval(self, df: pd.DataFrame,
                         logits: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
        """``<outcome>_lo`` / ``<outcome>_hi`` per outcome with an interval model (else none).

        The interval surrounds the calibrated prediction (``models.learners.uncertainty``);
        ``logits`` as in ``predict_proba`` (the same numbers as ``predict_logit``).
        """
        out = pd.DataFrame(index=df.index)
        intervals = getattr(self, "intervals", None) or {}
        if not intervals:
            return out
        X = self.model_frame(df)
        for name, model in self.outcome_models.items():
            if name in intervals:
                centre = model.predict_logit(X) if logits is None else logits[name]
                lo, hi = intervals[name].interval(X, centre)
                out[f"{name}_lo"], out[f"{name}_hi"] = lo, hi
        return out
        X = self.model_frame(df)
        for name, model in self.outcome_models.items():
            if name in intervals:
                lo, hi = intervals[name].interval(X, model.predict_logit(X))
                out[f"{name}_lo"], out[f"{name}_hi"] = lo, hi
        return out

    @property
    def interval_level(self) -> float | None:
        """The intervals' nominal level (e.g. 0.9), None without intervals."""
        intervals = getattr(self, "intervals", None) or {}
        return next((float(m.level) for m in intervals.values()), None)
