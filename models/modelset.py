"""Everything one registered model version holds, in one picklable object."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from models.estimators import OutcomeModel, TrajectoryModel
from models.features import to_model_frame
from models.ood import OODDetector

if TYPE_CHECKING:  # models.relapse imports models.explain, which imports this module
    from models.relapse import RelapseModel


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

    @property
    def outcomes(self) -> list[str]:
        """Outcome names in the order the models were trained."""
        return list(self.outcome_models)

    def model_frame(self, df: pd.DataFrame) -> pd.DataFrame:
        """Raw patient rows -> model inputs in this version's feature order."""
        return to_model_frame(df)[self.feature_names]

    def predict_proba(self, df: pd.DataFrame) -> pd.DataFrame:
        """Calibrated probability of every outcome, one column per outcome."""
        X = self.model_frame(df)
        return pd.DataFrame(
            {name: model.predict_proba(X) for name, model in self.outcome_models.items()},
            index=df.index,
        )
