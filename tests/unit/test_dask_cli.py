"""`kapcds train --engine dask` and `kapcds score` (Dask and local) through the CLI.

One small model is trained on Dask for the module and registered; scoring a partitioned
parquet cohort with it must equal `kapcds predict --explain` on the same patients.
"""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kapcds.cli import main
from models.store.registry import Registry
from training.distributed import training as dask_train
from training.distributed.scoring import write_partitioned
from training.generator.generate import generate_cohort, write_cohort

pytest.importorskip("dask.distributed")
pytest.importorskip("lightgbm.dask")

TOL = 1e-9


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def run_cli(*args: str) -> Result:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main([str(a) for a in args])
    return Result(code, out.getvalue(), err.getvalue())


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, str]:
    """A registry holding one version trained with `kapcds train --engine dask`."""
    root = tmp_path_factory.mktemp("dask-train")
    write_cohort(generate_cohort(600, seed=11), root / "data")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(dask_train, "DASK_MAX_ROUNDS", 120)  # keep the test short
        result = run_cli("train", "--engine", "dask", "--data", root / "data",
                         "--registry", root / "registry", "--promote")
    assert result.returncode == 0, result.stderr
    return root / "registry", result.stdout.strip()


@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> Path:
    """The same 150 new patients as patients.csv and as 3 parquet partitions."""
    root = tmp_path_factory.mktemp("dask-score")
    generated = generate_cohort(150, seed=99, id_offset=50_000)
    write_cohort(generated, root / "csv")
    write_partitioned(generated.patients, root / "parquet", rows_per_partition=50)
    return root


def test_train_dask_registers_a_sensible_version(trained):
    registry, version = trained
    model_set, card = Registry(registry).load(version)
    assert card["version"] == version
    assert model_set.train_summary["engine"] == "dask"
    outcomes = card["evaluation"]["report"]["outcomes"]
    assert outcomes["response"]["auc"]["value"] > 0.6
    for model in model_set.outcome_models.values():
        assert 1 <= model.best_iteration_ <= 120 and model.a_ > 0
    probabilities = model_set.predict_proba(generate_cohort(20, seed=3).patients)
    assert probabilities.notna().all().all()
    assert ((probabilities > 0) & (probabilities < 1)).all().all()


def _shared_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns
            if c.endswith(("_probability", "_base")) or "__shap__" in c]


@pytest.mark.parametrize("engine", ["dask", "local"])
def test_score_equals_predict_explain(trained, cohort, engine, tmp_path):
    registry, version = trained
    reference = tmp_path / "predict.csv"
    assert run_cli("predict", "--registry", registry, "--version", version, "--input",
                   cohort / "csv" / "patients.csv", "--output", reference,
                   "--explain").returncode == 0
    result = run_cli("score", "--engine", engine, "--input", cohort / "parquet", "--output",
                     tmp_path / "scored", "--registry", registry, "--version", version)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("scored 150 patients") and "scored" in result.stdout
    expected = pd.read_csv(reference)
    scored = pd.read_parquet(tmp_path / "scored")
    assert scored["patient_id"].tolist() == expected["patient_id"].tolist()
    columns = _shared_columns(expected)
    assert len(columns) > 20 and set(columns) <= set(scored.columns)
    np.testing.assert_allclose(scored[columns].to_numpy(float),
                               expected[columns].to_numpy(float), rtol=0, atol=TOL,
                               equal_nan=True)
    flags = [c for c in expected.columns if c.endswith("_reliable")]  # the same quality gate
    assert flags and scored[flags].astype(bool).equals(expected[flags].astype(bool))


def test_missing_column_is_one_clear_line(trained, cohort, tmp_path):
    registry, version = trained
    broken = pd.read_parquet(cohort / "parquet").drop(columns=["age", "route"])
    write_partitioned(broken, tmp_path / "broken", rows_per_partition=100)
    result = run_cli("score", "--input", tmp_path / "broken", "--output", tmp_path / "out",
                     "--registry", registry, "--version", version)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert "missing column(s) age, route" in result.stderr
    assert result.stderr.startswith("kapcds score: error: part-00000.parquet")
    assert not (tmp_path / "out").exists()


def test_invalid_values_are_reported_per_partition(trained, cohort, tmp_path):
    registry, version = trained
    bad = pd.read_parquet(cohort / "parquet")
    bad.loc[70, "age"] = -5
    write_partitioned(bad, tmp_path / "bad", rows_per_partition=50)
    result = run_cli("score", "--input", tmp_path / "bad", "--output", tmp_path / "out",
                     "--registry", registry, "--version", version)
    assert result.returncode == 1
    assert "part-00001.parquet" in result.stderr and "age" in result.stderr
    assert json.dumps(result.stderr)  # a plain string, no traceback
    assert "Traceback" not in result.stderr
