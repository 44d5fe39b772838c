"""Training's independent steps on a thread pool give the same model set as one after
another (``training.parallel``), and the pool is used only when that is safe."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

from models.learners.lgbm_params import booster_threads
from training.generator.generate import generate_cohort
from training.parallel import InlineExecutor, training_executor, training_threads
from training.train import train_model_set


def _boosters(model_set) -> dict[str, str]:
    """Every booster of a model set as LightGBM's model text (parameters excluded)."""
    out = {name: m.booster_.model_to_string() for name, m in model_set.outcome_models.items()}
    for name, interval in model_set.intervals.items():
        for i, member in enumerate(interval.members_):
            out[f"{name} member {i}"] = member.model_to_string()
    for alpha, booster in model_set.trajectory.boosters_.items():
        out[f"trajectory {alpha}"] = booster.model_to_string()
    return {k: v.split("\nparameters:")[0] for k, v in out.items()}


def test_threads_and_serial_order_give_the_same_models(monkeypatch) -> None:
    cohort = generate_cohort(800, 23)
    monkeypatch.setenv("KAPCDS_TRAIN_THREADS", "2")
    threaded = train_model_set(cohort.patients, cohort.sessions, seed=3, n_bootstrap=5)
    monkeypatch.setenv("KAPCDS_TRAIN_THREADS", "1")
    serial = train_model_set(cohort.patients, cohort.sessions, seed=3, n_bootstrap=5)
    assert _boosters(threaded.model_set) == _boosters(serial.model_set)
    for name, interval in threaded.model_set.intervals.items():
        other = serial.model_set.intervals[name]
        assert interval.disagreement_ == other.disagreement_
        np.testing.assert_array_equal(interval.platt_, other.platt_)
    assert pickle.dumps(threaded.model_set.ood) == pickle.dumps(serial.model_set.ood)
    assert threaded.model_set.trajectory.widen_ == serial.model_set.trajectory.widen_
    assert threaded.card["evaluation"]["report"] == serial.card["evaluation"]["report"]
    assert threaded.card["patients"] == serial.card["patients"]


def test_pool_only_for_single_threaded_boosters(monkeypatch) -> None:
    monkeypatch.setenv("KAPCDS_TRAIN_THREADS", "2")
    assert training_threads() == 2
    with training_executor(None) as pool:
        assert not isinstance(pool, InlineExecutor)
    for params in ({"num_threads": 2}, {"nthread": 0}, {"n_jobs": 4}):
        assert booster_threads(params) != 1
        assert isinstance(training_executor(params), InlineExecutor)
    monkeypatch.setenv("KAPCDS_TRAIN_THREADS", "1")
    assert isinstance(training_executor(None), InlineExecutor)
    monkeypatch.delenv("KAPCDS_TRAIN_THREADS")
    assert training_threads() == 1  # serial unless asked for
    monkeypatch.setenv("KAPCDS_TRAIN_THREADS", "auto")
    assert training_threads() >= 1
    monkeypatch.setenv("KAPCDS_TRAIN_THREADS", "two")
    with pytest.raises(ValueError, match="KAPCDS_TRAIN_THREADS"):
        training_threads()


def test_inline_executor_keeps_the_error_for_result() -> None:
    future = InlineExecutor().submit(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        future.result()


def test_command_threads_default_to_auto_and_are_restored(monkeypatch) -> None:
    """``kapcds train`` runs the steps on the usable cores unless told otherwise, and
    leaves the library default (serial) as it found it."""
    from training.parallel import THREADS_ENV, command_threads

    monkeypatch.delenv(THREADS_ENV, raising=False)
    with command_threads(None):
        assert os.environ[THREADS_ENV] == "auto"
    assert THREADS_ENV not in os.environ and training_threads() == 1
    with command_threads("1"):
        assert training_threads() == 1
    monkeypatch.setenv(THREADS_ENV, "3")
    with command_threads(None):  # the user's setting wins over the default
        assert training_threads() == 3
    with pytest.raises(ValueError), command_threads("many"):
        pass
    assert os.environ[THREADS_ENV] == "3"
