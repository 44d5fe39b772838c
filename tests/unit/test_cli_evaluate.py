"""`kapcds evaluate` scores a version only on patients it never saw and says which ones."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pandas as pd
import pytest

from base import settings
from kapcds.cli import main


def run_cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path, str]:
    root = tmp_path_factory.mktemp("cli-eval")
    data, registry = root / "data", root / "registry"
    assert run_cli("generate", "--patients", "600", "--seed", "5", "--out", str(data))[0] == 0
    code, out, err = run_cli("train", "--data", str(data), "--registry", str(registry),
                             "--promote")
    assert code == 0, err
    return data, registry, out.strip().splitlines()[-1]


def test_default_is_the_versions_own_test_patients(trained) -> None:
    data, registry, version = trained
    code, out, err = run_cli("evaluate", "--registry", str(registry), "--bootstrap", "20")
    assert code == 0, err
    card = json.loads((registry / "versions" / version / "model_card.json").read_text())
    n_test = len(card["patients"]["ids"]["test"])
    assert f"its own {n_test:,} held-out test patients, re-scored from {data.resolve()}" in out
    assert f" {n_test} " in out  # the n column of the table


def test_default_falls_back_to_stored_predictions_when_the_data_is_gone(trained,
                                                                        tmp_path) -> None:
    data, registry, _ = trained
    moved = tmp_path / "moved"
    data.rename(moved)
    try:
        code, out, err = run_cli("evaluate", "--registry", str(registry), "--bootstrap", "20")
    finally:
        moved.rename(data)
    assert code == 0, err
    assert "from the predictions stored in its model card" in out


def test_training_patients_are_left_out_and_new_data_is_scored_whole(trained,
                                                                      tmp_path) -> None:
    data, registry, version = trained
    card = json.loads((registry / "versions" / version / "model_card.json").read_text())
    n_test = len(card["patients"]["ids"]["test"])
    code, out, err = run_cli("evaluate", "--registry", str(registry), "--data", str(data),
                             "--bootstrap", "20")
    assert code == 0, err
    assert f"{n_test:,} of the 600 patients in {data}" in out
    assert f"({600 - n_test:,} left out: this version trained or validated on them)" in out
    seen = set(card["patients"]["ids"]["train"]) | set(card["patients"]["ids"]["valid"])
    only_seen = tmp_path / "seen"
    only_seen.mkdir()
    patients = pd.read_csv(data / "patients.csv", dtype=str, keep_default_na=False)
    patients[patients["patient_id"].isin(seen)].to_csv(only_seen / "patients.csv", index=False)
    sessions = pd.read_csv(data / "sessions.csv", dtype=str, keep_default_na=False)
    sessions[sessions["patient_id"].isin(seen)].to_csv(only_seen / "sessions.csv", index=False)
    code, _, err = run_cli("evaluate", "--registry", str(registry), "--data", str(only_seen))
    assert code == 1
    assert f"only 0 of the {len(seen):,} patients" in err and "trained or validated it" in err
    code, out, err = run_cli("evaluate", "--registry", str(registry), "--data",
                             str(settings.DATA_SAMPLES_DIR), "--bootstrap", "20")
    assert code == 0, err
    assert "2,000 of the 2,000 patients in" in out and "(0 left out" in out
