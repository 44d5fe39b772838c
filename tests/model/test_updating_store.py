"""`kapcds update --from-store` and `kapcds train --from-store` on a shifted synthetic clinic
loaded into a temporary store (issue 29)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from kapcds.cli import main
from models.store.registry import CARD_MD, Registry
from records.db import make_engine
from records.imports.bulk import seed_from_samples
from records.migrate import upgrade
from training.generator.generate import generate_cohort, write_cohort
from training.generator.settings import EffectSettings
from training.lifecycle.monitor_clinic import ended_series

SHIFT = {"improvement_intercept": 1.2, "bmi_per_unit": 0.2}  # as tests/model/test_updating.py


def _store(root: Path, n: int) -> str:
    cohort = generate_cohort(n, 777, settings=dataclasses.replace(EffectSettings(), **SHIFT),
                             id_offset=50_000)
    write_cohort(cohort, root / "clinic")
    url = f"sqlite:///{root / 'store.sqlite3'}"
    engine = make_engine(url)
    try:
        upgrade(engine)
        assert seed_from_samples(engine, root / "clinic") == n
    finally:
        engine.dispose()
    return url


@pytest.fixture(scope="module")
def shifted_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _store(tmp_path_factory.mktemp("shifted-clinic"), 2500)


@pytest.fixture
def registry(trained, tmp_path: Path) -> tuple[Registry, str]:
    models = Registry(tmp_path / "registry")
    version = models.register(trained.model_set, trained.result.card)
    models.promote(version)
    return models, version


@pytest.mark.slow
def test_update_from_store_registers_a_better_calibrated_candidate(
        shifted_store, registry, monkeypatch, capsys) -> None:
    monkeypatch.setenv("KAPCDS_DATABASE_URL", shifted_store)
    models, current = registry
    assert main(["update", "--from-store", "--method", "auto", "--registry",
                 str(models.root), "--outcome", "response", "--bootstrap", "100"]) == 0
    out = capsys.readouterr().out
    assert "registered candidate" in out and "1,750 older to fit, 750 most recent" in out
    candidate = [v["id"] for v in models.versions() if v["id"] != current]
    assert len(candidate) == 1 and models.current_version() == current  # not promoted
    _, card = models.load(candidate[0])
    entry = card["update"]["outcomes"]["response"]
    assert entry["step"] in ("intercept", "logistic", "revision") and entry["reason"]
    assert card["update"]["parent_version"] == current
    slope = {k: entry[k]["calibration_slope"]["value"]
             for k in ("current_on_recent", "updated_on_recent")}
    assert abs(slope["updated_on_recent"] - 1) < abs(slope["current_on_recent"] - 1)
    assert card["metrics"]["response"]["n"] == 750
    markdown = (models.folder(candidate[0]) / CARD_MD).read_text(encoding="utf-8")
    assert "## Update on the clinic's realised outcomes" in markdown
    assert "re-estimated on the clinic's fitting patients" in markdown
    json.dumps(card)  # plain data


def test_update_refuses_a_step_the_store_cannot_support(shifted_store, registry, monkeypatch,
                                                        capsys) -> None:
    monkeypatch.setenv("KAPCDS_DATABASE_URL", shifted_store)
    models, current = registry
    assert main(["update", "--method", "refit", "--registry", str(models.root),
                 "--outcome", "response", "--bootstrap", "20"]) == 1
    err = capsys.readouterr().err
    assert "refit refused: Riley criteria with 46 parameter(s)" in err and "needs n >=" in err
    assert [v["id"] for v in models.versions()] == [current]


def test_store_outcomes_are_the_generator_outcomes(shifted_store) -> None:
    """The store's realised outcomes (monitoring definitions) equal the generated labels."""
    from records.db import session_factory
    from records.frames import patients_frame, sessions_frame

    engine = make_engine(shifted_store)
    try:
        with session_factory(engine)() as session:
            patients, sessions = patients_frame(session), sessions_frame(session)
    finally:
        engine.dispose()
    realised = ended_series(patients, sessions).set_index("patient_id")
    cohort = generate_cohort(2500, 777, settings=dataclasses.replace(EffectSettings(), **SHIFT),
                             id_offset=50_000).patients.set_index("patient_id")
    assert len(realised) == 2500
    assert (realised["response"] == cohort.loc[realised.index, "response"]).all()


@pytest.mark.slow
def test_train_from_store_tests_on_the_most_recent_patients(tmp_path, monkeypatch,
                                                           capsys) -> None:
    monkeypatch.setenv("KAPCDS_DATABASE_URL", _store(tmp_path, 800))
    assert main(["train", "--from-store", "--registry", str(tmp_path / "registry")]) == 0
    version = capsys.readouterr().out.strip().splitlines()[-1]
    _, card = Registry(tmp_path / "registry").load(version)
    ids = card["patients"]["ids"]
    newest = [f"KAP-{i:05d}" for i in range(50_000 + 800 - 240 + 1, 50_000 + 800 + 1)]
    assert sorted(ids["test"]) == sorted(newest)
    assert not set(ids["test"]) & (set(ids["train"]) | set(ids["valid"]))
    assert card["training_data"]["source"] == "the clinic's store"
