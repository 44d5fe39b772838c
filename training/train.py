"""Fit a complete model set: split patients, train every model, evaluate, write the card.

The model lab page and the ``kapcds train`` command both call ``train_model_set``; it
neither reads nor writes files (registering is a separate, explicit step).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from models.contract.directions import with_monotone
from models.contract.features import to_model_frame
from models.contract.schema import ID_COLUMN, model_columns, outcome_names, schema_hash
from models.learners.estimators import DEFAULT_PARAMS, OutcomeModel, TrajectoryModel
from models.learners.ood import OODDetector
from models.learners.uncertainty import N_MEMBERS, ProbabilityInterval, reference_design
from models.store.modelset import ModelSet
from training.evaluate import evaluate_model_set
from training.governance.fairness import fairness_section
from training.lifecycle.monitor import feature_profile
from training.model_card import build_card
from training.parallel import training_executor
from training.provenance import split_record
from training.train_relapse import train_relapse

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]


@dataclass
class TrainResult:
    """A trained (unregistered) model set, its card, and the held-out test patient ids."""

    model_set: ModelSet
    card: dict[str, Any]
    test_ids: list[str]


def _strata(patients: pd.DataFrame, outcomes: list[str], min_count: int) -> pd.Series | None:
    """Stratify on response x the rarest outcome, falling back to coarser keys if tiny."""
    rarest = min(outcomes, key=lambda o: min(patients[o].mean(), 1 - patients[o].mean()))
    candidates = [[outcomes[0], rarest], [rarest], [outcomes[0]]]
    for columns in candidates:
        key = patients[list(dict.fromkeys(columns))].astype(int).astype(str).agg("".join, axis=1)
        if key.value_counts().min() >= min_count:
            return key
    return None


def split_patients(patients: pd.DataFrame, test_fraction: float, valid_fraction: float,
                   seed: int, test_ids: list[str] | None = None
                   ) -> tuple[pd.Index, pd.Index, pd.Index]:
    """Stratified train/valid/test split by patient (row index labels).

    With ``test_ids`` those patients are the test split (a temporal split: a clinic's most
    recent patients) and the rest is split into train and valid as usual.
    """
    outcomes = [o for o in outcome_names() if o in patients]
    if test_ids is not None:
        held = patients[ID_COLUMN].astype(str).isin(set(map(str, test_ids)))
        rest = patients.index[~held]
        strata = _strata(patients.loc[rest], outcomes, min_count=10)
        train, valid = train_test_split(rest, test_size=valid_fraction, random_state=seed + 1,
                                        stratify=strata)
        return pd.Index(train), pd.Index(valid), patients.index[held]
    strata = _strata(patients, outcomes, min_count=10)
    rest, test = train_test_split(patients.index, test_size=test_fraction, random_state=seed,
                                  stratify=strata)
    strata_rest = strata.loc[rest] if strata is not None else None
    train, valid = train_test_split(rest, test_size=valid_fraction / (1 - test_fraction),
                                    random_state=seed + 1, stratify=strata_rest)
    return pd.Index(train), pd.Index(valid), pd.Index(test)


# (X, y, train index, valid index) -> a fitted OutcomeModel; the engine-specific step.
FitOutcome = Callable[[pd.DataFrame, pd.Series, pd.Index, pd.Index], OutcomeModel]


def local_fit(params: dict[str, Any] | None, seed: int) -> FitOutcome:
    """The in-process outcome fit: one ``OutcomeModel`` on the train/valid patients."""

    def fit(X: pd.DataFrame, y: pd.Series, train: pd.Index, valid: pd.Index) -> OutcomeModel:
        return OutcomeModel(params=params, seed=seed).fit(
            X.loc[train], y.loc[train], X.loc[valid], y.loc[valid])

    return fit


class _Steps:
    """Numbered progress messages, to the log and to an optional callback."""

    def __init__(self, total: int, progress: Progress | None) -> None:
        self.total, self.step, self.progress = total, 0, progress
        self.last = time.perf_counter()

    def __call__(self, message: str) -> None:
        self.step += 1
        now = time.perf_counter()  # the step's wall-clock seconds (benchmarks read them)
        log.info("[%d/%d] %s (%.2f s)", self.step, self.total, message, now - self.last)
        self.last = now
        if self.progress is not None:
            self.progress(self.step, self.total, message)


def train_model_set(
    patients: pd.DataFrame,
    sessions: pd.DataFrame,
    params: dict[str, Any] | None = None,
    seed: int = 0,
    test_fraction: float = 0.2,
    valid_fraction: float = 0.2,
    progress: Progress | None = None,
    data_description: dict[str, Any] | None = None,
    n_bootstrap: int = 200,
    followup: pd.DataFrame | None = None,
    fit_outcome: FitOutcome | None = None,
    test_ids: list[str] | None = None,
) -> TrainResult:
    """Train one calibrated model per outcome, the trajectory model and the OOD detector.

    ``data_description`` (e.g. ``{"n_patients": 2000, "seed": 7}``) goes into the card.
    With ``followup`` (followup.csv rows) the relapse model is trained too, on the same
    patient split, and its test metrics join the card as outcome ``relapse``.
    ``fit_outcome`` replaces the in-process booster fit (e.g. on Dask); everything else
    (split, trajectory, OOD, relapse, evaluation, card) is shared, so a model set trained on
    a cluster is the same kind of object as one trained locally. ``test_ids`` fixes the
    test patients (``split_patients``).
    """
    started = time.perf_counter()
    outcomes = [o for o in outcome_names() if o in patients]
    if not outcomes:
        raise ValueError("patients has no outcome columns; nothing to train")
    patients = patients.reset_index(drop=True)
    report = _Steps(len(outcomes) + 5 + (followup is not None), progress)
    split = split_patients(patients, test_fraction, valid_fraction, seed, test_ids)
    train, valid, test = split
    summary: dict[str, Any] = {"n_train": len(train), "n_valid": len(valid), "n_test": len(test),
                               "seed": seed, "params": {**DEFAULT_PARAMS, **(params or {})},
                               "outcomes": {}}
    X = to_model_frame(patients)
    model_set, evaluation, proba = _fit_and_evaluate(
        patients, sessions, X, split, fit_outcome, params, seed, n_bootstrap, followup,
        summary, report)
    summary["training_seconds"] = time.perf_counter() - started
    card = build_card(evaluation, summary, summary["training_seconds"], data={
        "n_patients": int(len(patients)), "n_sessions": int(len(sessions)),
        **(data_description or {})})
    card["evaluation"]["report"] = evaluation
    card["evaluation"]["test_predictions"] = heldout_predictions(model_set, patients.loc[test],
                                                                 proba)
    stored = card["evaluation"]["test_predictions"]
    card["fairness"] = fairness_section(
        patients.loc[test], {k: np.asarray(v["y"]) for k, v in stored.items()},
        {k: np.asarray(v["p"]) for k, v in stored.items()},
        f"held-out test patients of the training data ({len(test):,}; same source)",
        n_bootstrap)
    card["patients"] = split_record(patients, split, seed, test_fraction, valid_fraction)
    card["monitoring_profile"] = feature_profile(patients.loc[train.append(valid)])
    report("model card written")
    return TrainResult(model_set=model_set, card=card,
                       test_ids=patients.loc[test, ID_COLUMN].astype(str).tolist())


def heldout_predictions(model_set: ModelSet, held: pd.DataFrame,
                        proba: pd.DataFrame | None = None) -> dict[str, dict[str, list]]:
    """Labels and calibrated predictions of the held-out test patients, per outcome
    (``proba``: ``model_set.predict_proba(held)`` when the caller has it already)."""
    proba = model_set.predict_proba(held) if proba is None else proba
    return {name: {"y": held[name].astype(int).tolist(), "p": proba[name].round(6).tolist()}
            for name in model_set.outcomes if name in held}


def _fit_and_evaluate(patients: pd.DataFrame, sessions: pd.DataFrame, X: pd.DataFrame,
                      split: tuple[pd.Index, pd.Index, pd.Index],
                      fit_outcome: FitOutcome | None, params: dict[str, Any] | None,
                      seed: int, n_bootstrap: int, followup: pd.DataFrame | None,
                      summary: dict[str, Any],
                      report: _Steps) -> tuple[ModelSet, dict[str, Any], pd.DataFrame]:
    """Every model, and the test-split report (with the test predictions it rests on).

    In the order of earlier versions, each step reported when it is done (the benchmark's
    step times come from the reports); with a thread pool (``training.parallel``) the
    outcome fits run side by side, and so do the interval models. Nothing on the pool
    calls the compiled (numba) kernels; this thread does (the centre log-odds, while the
    first interval models train), and numba leaves LightGBM's thread count alone.
    """
    train, valid, test = split
    seen = train.append(valid)
    with training_executor(params) as pool:
        fits = _submit_outcomes(pool, fit_outcome, params, seed, X, patients, split)
        models = _collect_outcomes(fits, patients, train, summary, report)
        trajectory, ood = pool.submit(_fit_support_models, patients, sessions, seen,
                                      seed).result()
        report("trained PHQ-9 trajectory model")
        report("fitted out-of-distribution detector")
        jobs = submit_intervals(pool, models, X, patients, seen, seed)
        intervals = {name: job.result() for name, job in jobs.items()}
        report(f"fitted per-patient intervals ({N_MEMBERS} bootstrap members per outcome)")
    model_set = ModelSet(outcome_models=models, trajectory=trajectory, ood=ood,
                         feature_names=model_columns(), schema_hash=schema_hash(),
                         train_summary=summary, intervals=intervals)
    if followup is not None:
        model_set.relapse, relapse_report, summary["relapse"] = train_relapse(
            patients, followup, train, valid, test, params, seed, n_bootstrap)
        report("trained relapse model" if model_set.relapse
               else "relapse model skipped (too few)")
    held = patients.loc[test]
    proba = model_set.predict_proba(held)
    evaluation = evaluate_model_set(model_set, held, n_boot=n_bootstrap, seed=seed,
                                    proba=proba)
    if followup is not None and relapse_report is not None:
        evaluation["outcomes"]["relapse"] = relapse_report
    report("evaluated on the test split")
    return model_set, evaluation, proba


def _submit_outcomes(pool: Executor, fit_outcome: FitOutcome | None,
                     params: dict[str, Any] | None, seed: int, X: pd.DataFrame,
                     patients: pd.DataFrame,
                     split: tuple[pd.Index, pd.Index, pd.Index]) -> dict[str, Future]:
    """The outcome fits, started on ``pool``.

    The in-process fits run on the pool's threads (same models as one after another: see
    ``training.parallel``); a caller's ``fit_outcome`` (e.g. a Dask cluster) runs here, one
    outcome after another as before, and nothing else runs meanwhile (its client may call
    LightGBM with other thread counts).
    """
    train, valid, _ = split
    outcomes = [o for o in outcome_names() if o in patients]
    fits: dict[str, Future] = {}
    for name in outcomes:
        y = patients[name].astype(int)
        if fit_outcome is None:
            own = with_monotone(params, name, list(X.columns))  # sourced directions only
            fits[name] = pool.submit(local_fit(own, seed), X, y, train, valid)
        else:
            fits[name] = Future()
            fits[name].set_result(fit_outcome(X, y, train, valid))
    return fits


def _collect_outcomes(fits: dict[str, Future], patients: pd.DataFrame, train: pd.Index,
                      summary: dict[str, Any], report: _Steps) -> dict[str, OutcomeModel]:
    """The fitted outcome models in outcome order; their statistics go into ``summary``."""
    models: dict[str, OutcomeModel] = {}
    for name, job in fits.items():
        model = job.result()
        models[name] = model
        summary["cv_folds"] = int(getattr(model, "folds_used_", getattr(model, "cv_folds", 5)))
        summary["outcomes"][name] = {
            "train_prevalence": float(patients.loc[train, name].astype(int).mean()),
            "trees": model.best_iteration_, "platt_a": model.a_, "platt_b": model.b_,
            "positive_weight": model.positive_weight_,
            "monotone": _constrained(model)}
        report(f"trained {name} ({model.best_iteration_} trees)")
    return models


def _constrained(model: OutcomeModel) -> dict[str, int]:
    """The monotone constraints the booster was fitted with, by feature (for the card)."""
    vector = model.params_.get("monotone_constraints") or []
    return {name: int(v) for name, v in zip(model.feature_names_, vector, strict=False) if v}


def submit_intervals(pool: Executor, models: dict[str, OutcomeModel], X: pd.DataFrame,
                     patients: pd.DataFrame, seen: pd.Index,
                     seed: int) -> dict[str, Future]:
    """One per-patient interval model per outcome, on the patients the boosters saw.

    The centre log-odds are computed here, on the calling thread (the compiled margin walk
    has its own threads); each interval fit then runs on ``pool``.
    """
    X_seen = X.loc[seen]
    design = reference_design(X_seen, seed)
    return {name: pool.submit(ProbabilityInterval(seed=seed).fit, X_seen,
                              patients.loc[seen, name].astype(int), model.params_,
                              model.best_iteration_, model.predict_logit(X_seen), design)
            for name, model in models.items()}


def _fit_support_models(patients: pd.DataFrame, sessions: pd.DataFrame,
                        seen: pd.Index, seed: int) -> tuple[TrajectoryModel, OODDetector]:
    """The PHQ-9 trajectory model and the OOD ranges on the patients the boosters saw.

    The outcome models cross-validate on train + valid (see OutcomeModel.fit), so the
    trajectory model and the OOD ranges cover the same patients.
    """
    seen_ids = set(patients.loc[seen, ID_COLUMN].astype(str))
    seen_sessions = sessions[sessions[ID_COLUMN].astype(str).isin(seen_ids)]
    trajectory = TrajectoryModel(seed=seed).fit(patients.loc[seen], seen_sessions)
    ood = OODDetector().fit(patients.loc[seen])  # the recorded inputs, dose in its unit
    return trajectory, ood


def prevalence_table(patients: pd.DataFrame) -> pd.Series:
    """Observed prevalence of each outcome (quick data check before training)."""
    return pd.Series({o: float(np.mean(patients[o])) for o in outcome_names() if o in patients})
