"""Updating a registered model set on a clinic's realised outcomes, outcome by outcome.

For each outcome: the Riley guard (``sample_size``) decides which steps the older patients
can support; those steps are fitted on them (``steps``); ``auto`` lets the closed test
choose (``closed_test``; Holm across outcomes), an explicit method is fitted or refused with
the numbers. The
result is evaluated on the most recent patients (never used to fit) against the current
version, and the new model set goes to the registry as a candidate, never promoted here.
The per-patient intervals of an updated outcome are re-estimated on the clinic's fitting
patients (``local_intervals``); the relapse model is not updated, so its interval stays.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from models.contract.features import to_model_frame
from models.contract.schema import FEATURES, MODEL_DOSE, model_columns
from models.learners.estimators import OutcomeModel
from models.store.modelset import ModelSet
from training.evaluate import metrics_with_ci
from training.updating.closed_test import (
    ALPHA,
    Choice,
    Comparison,
    choose_step,
    gate_test,
    holm_levels,
)
from training.updating.intervals import local_intervals
from training.updating.sample_size import SampleSize, cox_snell_r2, riley_sample_size
from training.updating.steps import (
    REVISION_PARAMS,
    REVISION_TREES,
    STEPS,
    StepFit,
    current_loglik,
    fit_step,
    loglik,
    probabilities,
)

log = logging.getLogger(__name__)
METHODS = ("auto", *STEPS)


class UpdateRefused(ValueError):
    """An explicitly requested step the data cannot support (the message has the numbers)."""


@dataclass
class OutcomeUpdate:
    """What happened to one outcome: the step kept or chosen, why, and the evidence."""

    outcome: str
    step: str
    reason: str
    sample_size: dict[str, SampleSize] = field(default_factory=dict)
    fits: dict[str, tuple[float, int]] = field(default_factory=dict)
    current_loglik: float = float("nan")
    tests: tuple = ()
    current_on_recent: dict[str, Any] = field(default_factory=dict)
    updated_on_recent: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """Plain data for the card."""
        return {"step": self.step, "reason": self.reason,
                "sample_size": {s: {"sufficient": v.sufficient, "n_required": v.n_required,
                                    "events_required": v.events_required,
                                    "text": v.describe()} for s, v in self.sample_size.items()},
                "loglik_fit": {"current": self.current_loglik,
                               **{s: {"loglik": ll, "df": df} for s, (ll, df) in
                                  self.fits.items()}},
                "tests": [t.text() for t in self.tests],
                "test_details": [dataclasses.asdict(t) for t in self.tests],
                "current_on_recent": self.current_on_recent,
                "updated_on_recent": self.updated_on_recent}


def step_parameters(step: str) -> int:
    """Parameters a step estimates besides an intercept (Riley's ``p``), known before it
    runs: 0, 1 (slope), the new trees' leaves + slope, or every model input's terms."""
    if step == "intercept":
        return 0
    if step == "logistic":
        return 1
    if step == "revision":
        return 1 + REVISION_TREES * int(REVISION_PARAMS["num_leaves"])
    if step == "refit":
        specs = {f.name: f for f in FEATURES}
        return sum(1 if name == MODEL_DOSE or specs[name].dtype != "category"
                   else len(specs[name].categories) - 1 for name in model_columns())
    raise ValueError(f"unknown updating step {step!r}")


def guard(step: str, y: np.ndarray, r2_cs: float) -> SampleSize:
    """The Riley criteria for ``step`` on these fitting patients."""
    return riley_sample_size(step_parameters(step), float(np.mean(y)), r2_cs, len(y),
                             int(np.sum(y)))


@dataclass
class _Prepared:
    """One outcome after the guard and the fits, before the closed test decides."""

    result: OutcomeUpdate
    fitted: dict[str, StepFit]
    gate: Comparison | None


def prepare_outcome(name: str, model: OutcomeModel, fit: pd.DataFrame, method: str = "auto",
                    seed: int = 0) -> _Prepared:
    """Guard and fit the steps for one outcome (an explicit step the data cannot support
    raises ``UpdateRefused`` with the numbers)."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; allowed: {', '.join(METHODS)}")
    X, y = to_model_frame(fit), fit[name].astype(int).to_numpy()
    if len(np.unique(y)) < 2:
        raise UpdateRefused(f"{name}: the fitting patients hold only one outcome class")
    ll0 = current_loglik(model, X, y)
    ll_null = loglik(y, np.full(len(y), np.log(y.mean() / (1 - y.mean()))))
    r2 = cox_snell_r2(fit_step("logistic", model, X, y).loglik, ll_null, len(y))
    result = OutcomeUpdate(name, "current", "", current_loglik=ll0)
    fitted: dict[str, StepFit] = {}
    for step in (STEPS if method == "auto" else (method,)):
        result.sample_size[step] = check = guard(step, y, r2)
        if not check.sufficient:
            if method != "auto":
                raise UpdateRefused(f"{name}: {step} refused: {check.describe()}")
            continue
        fitted[step] = fit_step(step, model, X, y, seed)
        result.fits[step] = (fitted[step].loglik, fitted[step].df)
    gate = gate_test(ll0, result.fits) if method == "auto" else None
    return _Prepared(result, fitted, gate)


def decide_outcome(prepared: _Prepared, model: OutcomeModel, test: pd.DataFrame, method: str,
                   alpha: float = ALPHA, seed: int = 0,
                   n_boot: int = 200) -> tuple[OutcomeUpdate, OutcomeModel | None]:
    """The closed test at ``alpha`` (Holm's level for this outcome), then current vs
    updated on the recent patients; the updated model or None (kept)."""
    result = prepared.result
    name = result.outcome
    if method == "auto":
        choice = choose_step(result.current_loglik, result.fits, alpha)
        level = f"; tested at level {alpha:.3g} (Holm across the outcomes updated)"
        choice = Choice(choice.step, choice.reason + level, choice.tests)
    else:
        choice = Choice(method, f"requested (--method {method})", ())
    result.step, result.reason, result.tests = choice.step, choice.reason, choice.tests
    refused = [s for s, c in result.sample_size.items() if not c.sufficient]
    if refused:
        result.reason += f"; not supported by the sample size: {', '.join(refused)}"
    updated = prepared.fitted[choice.step].model if choice.step in prepared.fitted else None
    Xt, yt = to_model_frame(test), test[name].astype(int).to_numpy()
    result.current_on_recent = metrics_with_ci(yt, probabilities(model, Xt), n_boot, seed)
    if updated is not None:
        result.updated_on_recent = metrics_with_ci(yt, probabilities(updated, Xt), n_boot,
                                                   seed)
    log.info("update %s: %s (%s)", name, result.step, result.reason)
    return result, updated


def update_outcome(name: str, model: OutcomeModel, fit: pd.DataFrame, test: pd.DataFrame,
                   method: str = "auto", seed: int = 0, n_boot: int = 200,
                   alpha: float = ALPHA) -> tuple[OutcomeUpdate, OutcomeModel | None]:
    """Guard, fit, choose and evaluate one outcome on its own (level ``alpha``)."""
    prepared = prepare_outcome(name, model, fit, method, seed)
    return decide_outcome(prepared, model, test, method, alpha, seed, n_boot)


def update_model_set(model_set: ModelSet, fit: pd.DataFrame, test: pd.DataFrame,
                     method: str = "auto", seed: int = 0, n_boot: int = 200,
                     outcomes: list[str] | None = None
                     ) -> tuple[ModelSet | None, dict[str, OutcomeUpdate]]:
    """Every outcome (or ``outcomes``); a new model set when any outcome changed. With
    ``auto`` every outcome is fitted first so that Holm's procedure can set the level of
    each outcome's closed test from all the gate p-values (``closed_test.holm_levels``)."""
    if list(model_set.feature_names) != model_columns():
        raise ValueError("the model set's inputs differ from this schema; retrain instead")
    names = outcomes or model_set.outcomes
    results: dict[str, OutcomeUpdate] = {}
    models = dict(model_set.outcome_models)
    prepared = {name: prepare_outcome(name, model_set.outcome_models[name], fit, method, seed)
                for name in names}
    levels = holm_levels({name: p.gate.p_value for name, p in prepared.items()
                          if p.gate is not None})
    for name in names:
        results[name], updated = decide_outcome(prepared[name], model_set.outcome_models[name],
                                                test, method, levels.get(name, ALPHA), seed,
                                                n_boot)
        if updated is not None:
            models[name] = updated
    if all(r.step == "current" for r in results.values()):
        return None, results
    changed = [n for n, r in results.items() if r.step != "current"]
    intervals = {**(model_set.intervals or {}),
                 **local_intervals(model_set, {n: models[n] for n in changed},
                                   {n: results[n].step for n in changed}, fit, seed)}
    summary = {**model_set.train_summary,
               "update": {n: r.step for n, r in results.items()}}
    return dataclasses.replace(model_set, outcome_models=models, train_summary=summary,
                               intervals=intervals), results
