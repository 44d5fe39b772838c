"""The one-conversion hot path gives exactly the numbers of the per-outcome frame path.

``models.kernels.hotpath`` converts rows once for every outcome and the compiled kernel walks the
trees for the margin; these tests hold that to LightGBM's own ``predict`` bit for bit
(``==``, not a tolerance) and the one-patient explanation to the batch explanation.
"""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from models.contract.features import to_model_frame
from models.inference.explain import (
    explain_all,
    explain_frame,
    explain_patient,
    explain_patient_all,
)
from models.kernels.fastshap import CompiledMargin, FastTreeShap
from models.kernels.hotpath import outcome_matrices, plain_matrix
from training.generator.generate import generate_cohort


@pytest.fixture(scope="module")
def patients() -> pd.DataFrame:
    """Fresh patients with missing and unknown values in numeric and category inputs."""
    rows = generate_cohort(300, seed=515).patients
    rows.loc[rows.index[:20], "bmi"] = np.nan
    rows.loc[rows.index[20:30], "route"] = None
    rows.loc[rows.index[30:35], "support_system"] = "unheard-of"
    return rows


def test_margin_equals_lightgbm_bit_for_bit(trained, patients) -> None:
    X = trained.model_set.model_frame(patients)
    for model in trained.model_set.outcome_models.values():
        frame = X[model.feature_names_]
        expected = model.booster_.predict(frame, raw_score=True)
        assert np.array_equal(model.predict_margin(frame), expected)
        compiled = CompiledMargin(model.booster_, parallel=False)
        assert np.array_equal(compiled.margin_matrix(compiled.to_matrix(frame)), expected)


def test_margin_with_nan_missing_type_and_constant_trees(patients) -> None:
    X = to_model_frame(patients)
    y = patients["response"].to_numpy(dtype=int)
    booster = lgb.train({"objective": "binary", "verbose": -1, "num_threads": 1,
                         "min_data_in_leaf": 400, "num_leaves": 4}, lgb.Dataset(X, y), 40)
    fast = FastTreeShap(booster)
    assert np.array_equal(fast.margin_matrix(fast.to_matrix(X)),
                          booster.predict(X, raw_score=True))


def test_one_conversion_serves_every_outcome(trained, patients) -> None:
    rows = patients.iloc[:10]
    matrices = outcome_matrices(trained.model_set, rows)
    X = trained.model_set.model_frame(rows)
    for name, model in trained.model_set.outcome_models.items():
        reference = model.fast_explainer().to_matrix(X[model.feature_names_])
        np.testing.assert_array_equal(matrices[name], reference)


def test_plain_matrix_declines_values_pandas_must_judge() -> None:
    assert plain_matrix([["34"]], ["bmi"]) is None  # text in a number: the frame route
    assert plain_matrix([[[1]]], ["route"]) is None  # unhashable category value
    np.testing.assert_array_equal(plain_matrix([[None, "im"]], ["bmi", "route"]),
                                  [[np.nan, 1.0]])


def test_patient_path_equals_the_batch_exactly(trained, patients) -> None:
    model_set = trained.model_set
    batch = explain_all(model_set, patients.iloc[:40])
    for i in (0, 5, 25, 33):
        single = explain_patient_all(model_set, patients.iloc[i])
        for name, explanation in batch.items():
            row = explanation.row(i)
            assert single[name].proba == row.proba and single[name].logit == row.logit
            assert single[name].base == row.base
            np.testing.assert_array_equal(single[name].contributions.to_numpy(),
                                          row.contributions.to_numpy())
            np.testing.assert_array_equal(single[name].effects.to_numpy(),
                                          row.effects.to_numpy())
        one = explain_patient(model_set, patients.iloc[i].to_dict(), "response")
        assert one.proba == batch["response"].row(i).proba


def test_explain_all_equals_explain_frame(trained, patients) -> None:
    together = explain_all(trained.model_set, patients)
    for name in trained.model_set.outcomes:
        alone = explain_frame(trained.model_set, patients, name)
        pd.testing.assert_frame_equal(together[name].contributions, alone.contributions)
        pd.testing.assert_series_equal(together[name].proba, alone.proba)
    proba = trained.model_set.predict_proba(patients)
    for name in trained.model_set.outcomes:
        np.testing.assert_array_equal(proba[name].to_numpy(), together[name].proba.to_numpy())
