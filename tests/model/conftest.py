"""One trained model set per test session, on the 2,000-patient sample cohort.

Training takes a few seconds; every model test shares it. A large fresh cohort (different
seed, different patient ids) is the held-out set for calibration and coverage checks, so
those checks are not limited by the 400-patient test split.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pytest

from base.settings import SAMPLE_PATIENTS, SAMPLE_SEED
from training.generator.generate import Cohort, generate_cohort
from training.train import TrainResult, train_model_set

HOLDOUT_PATIENTS = 20_000
HOLDOUT_SEED = 424242


@dataclass
class Trained:
    cohort: Cohort
    result: TrainResult
    holdout: Cohort

    @property
    def model_set(self):
        return self.result.model_set

    @property
    def test_patients(self) -> pd.DataFrame:
        patients = self.cohort.patients
        return patients[patients["patient_id"].isin(self.result.test_ids)]


@pytest.fixture(scope="session")
def trained() -> Trained:
    cohort = generate_cohort(SAMPLE_PATIENTS, SAMPLE_SEED)
    result = train_model_set(cohort.patients, cohort.sessions, seed=0, n_bootstrap=50,
                             data_description={"seed": SAMPLE_SEED})
    holdout = generate_cohort(HOLDOUT_PATIENTS, HOLDOUT_SEED, id_offset=SAMPLE_PATIENTS)
    return Trained(cohort, result, holdout)
