"""Dask scoring of a partitioned parquet cohort equals the single-machine path."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.inference.predict import predict_frame
from training.distributed.scoring import (
    PartitionScorer,
    local_client,
    score_frame,
    score_parquet,
    write_partitioned,
)
from training.generator.generate import generate_cohort
from training.train import train_model_set

pytest.importorskip("dask.distributed")

TOL = 1e-9


@pytest.fixture(scope="module")
def model_set():
    cohort = generate_cohort(1200, seed=5)
    return train_model_set(cohort.patients, cohort.sessions, seed=0, n_bootstrap=5).model_set


@pytest.fixture(scope="module")
def patients() -> pd.DataFrame:
    return generate_cohort(230, seed=99, id_offset=50_000).patients


def _assert_same(left: pd.DataFrame, right: pd.DataFrame) -> None:
    assert list(left.columns) == list(right.columns)
    left, right = left.reset_index(drop=True), right.reset_index(drop=True)
    numeric = [c for c in left.columns if pd.api.types.is_float_dtype(right[c])]
    np.testing.assert_allclose(left[numeric].to_numpy(float), right[numeric].to_numpy(float),
                               rtol=0, atol=TOL, equal_nan=True)
    others = [c for c in left.columns if c not in numeric]
    pd.testing.assert_frame_equal(left[others], right[others], check_dtype=False)


def test_score_frame_equals_predict_frame(model_set, patients):
    """FastTreeShap inside score_frame reproduces predict_frame(explain=True)."""
    _assert_same(score_frame(model_set, patients), predict_frame(model_set, patients,
                                                                  explain=True))


def test_dask_equals_single_machine(model_set, patients, tmp_path):
    paths = write_partitioned(patients, tmp_path / "cohort", rows_per_partition=60)
    assert len(paths) == 4
    single = score_frame(model_set, pd.read_parquet(tmp_path / "cohort"))
    with local_client(n_workers=2, processes=False) as client:
        scored = score_parquet(tmp_path / "cohort", model_set, client=client)
        score_parquet(tmp_path / "cohort", model_set, client=client,
                      destination=tmp_path / "scored")
    assert scored is not None and len(scored) == len(patients)
    _assert_same(scored, single)
    _assert_same(pd.read_parquet(tmp_path / "scored"), single)
    assert scored["patient_id"].tolist() == patients["patient_id"].tolist()


def test_scorer_without_explanations(model_set, patients):
    scored = PartitionScorer(model_set, explain=False)(patients.head(10))
    _assert_same(scored, predict_frame(model_set, patients.head(10), explain=False))
