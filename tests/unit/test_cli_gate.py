"""`kapcds predict` and `kapcds versions` with the per-outcome quality gate: a model trained
on shuffled labels for one outcome gets that outcome's numbers withheld, the others not."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from gate_support import GATED, KEPT, uninformative
from test_cli import run_cli

from base import settings
from models.clinical.quality_gate import UNRELIABLE, outcome_quality
from models.store.registry import Registry


@pytest.fixture(scope="module")
def gated_registry(tmp_path_factory) -> tuple[Path, str]:
    model_set, card, _ = uninformative()
    assert not outcome_quality(card, GATED).reliable and outcome_quality(card, KEPT).reliable
    root = tmp_path_factory.mktemp("gate") / "registry"
    registry = Registry(root)
    version = registry.register(model_set, card)
    registry.promote(version)
    return root, version


@pytest.fixture()
def patients_csv(tmp_path) -> Path:
    frame = pd.read_csv(settings.DATA_SAMPLES_DIR / "patients.csv", dtype=str,
                        keep_default_na=False).head(25)
    path = tmp_path / "in.csv"
    frame.to_csv(path, index=False)
    return path


def _predict(registry: Path, source: Path, out: Path, *extra: str) -> pd.DataFrame:
    result = run_cli("predict", "--registry", str(registry), "--input", str(source),
                     "--output", str(out), "--explain", *extra)
    assert result.returncode == 0, result.stderr
    assert f"{GATED}: {UNRELIABLE}" in result.stderr and KEPT not in result.stderr
    return pd.read_csv(out)


def test_predict_withholds_the_gated_outcome(gated_registry, patients_csv, tmp_path):
    out = _predict(gated_registry[0], patients_csv, tmp_path / "out.csv")
    columns = list(out.columns)
    assert columns.index(f"{GATED}_reliable") == columns.index(f"{GATED}_probability") + 1
    assert (~out[f"{GATED}_reliable"]).all() and out[f"{KEPT}_reliable"].all()
    gated = [c for c in columns if c.startswith(f"{GATED}_") and c != f"{GATED}_reliable"]
    assert f"{GATED}_base" in gated and len(gated) > 3  # probability, base and SHAP columns
    assert out[gated].isna().all().all()
    kept = [c for c in columns if c.startswith(f"{KEPT}_") and c != f"{KEPT}_reliable"]
    assert out[f"{KEPT}_probability"].between(0, 1).all() and out[kept].notna().all().all()


def test_include_unreliable_keeps_the_numbers_and_the_flag(gated_registry, patients_csv,
                                                           tmp_path):
    out = _predict(gated_registry[0], patients_csv, tmp_path / "all.csv",
                   "--include-unreliable")
    assert (~out[f"{GATED}_reliable"]).all()
    assert out[f"{GATED}_probability"].between(0, 1).all()


def test_versions_carry_a_description(gated_registry):
    root, version = gated_registry
    result = run_cli("versions", "--registry", str(root))
    assert result.returncode == 0, result.stderr
    (line,) = [x for x in result.stdout.splitlines() if version in x]
    assert line.startswith("* ") and "generated (seed 91), 3,000 patients" in line
    assert line.endswith(", by tests")


def test_cli_training_records_who_trained_it(tmp_path):
    data = tmp_path / "data"
    assert run_cli("generate", "--patients", "300", "--seed", "3", "--out", str(data)
                   ).returncode == 0
    result = run_cli("train", "--data", str(data), "--registry", str(tmp_path / "reg"))
    assert result.returncode == 0, result.stderr
    version = result.stdout.strip().splitlines()[-1]
    card = Registry(tmp_path / "reg").verify(version)
    assert card["trained_by"].endswith("(cli)") or card["trained_by"] == "cli"
    assert set(card["quality_gate"]["outcomes"]) >= {GATED, KEPT}
    listed = run_cli("versions", "--registry", str(tmp_path / "reg")).stdout
    assert f"data/, 300 patients, {card['created_utc'][:10]}, by {card['trained_by']}" in listed
