"""Prospective monitoring: realised performance on the clinic's patients, input drift, and
the rule that suggests recalibration or retraining (docs/monitoring.md).

Pure functions on frames; the store reads (recorded predictions, patients, sessions) are
the caller's (``dashboard.services.lab.monitoring``, ``kapcds.monitoring``).

The rule, per model version:

- An outcome is judged only on at least ``MIN_PATIENTS`` patients with an ended series and
  at least ``MIN_EVENTS`` with and without the outcome; otherwise "not enough outcomes yet".
- **Recalibration suggested** for an outcome when Cox's joint likelihood-ratio test of
  calibration intercept 0 and slope 1 (2 df) gives p below ``ALPHA / n_outcomes``
  (Bonferroni over the outcomes judged), reason: the intercept and slope with 95 % CIs.
- **Retraining suggested** for an outcome when the realised ROC AUC is lower than the
  version's held-out test AUC by more than chance: a one-sided z-test of the difference
  of two independent AUCs (standard errors from each 95 % CI's width / 3.92) with p below
  ``ALPHA / n_outcomes`` (Bonferroni, as above).
- **Recalibration suggested** for an outcome when the realised calibration slope's 95 %
  bootstrap CI excludes 1, or the intercept's excludes 0 (issue 23: slope 1.92, CI
  1.05-3.10, is miscalibration even when the joint test is not significant). Judged at 95 %
  as shown, without a multiplicity correction: the message names the figure and its CI.
- **Retraining suggested** for an outcome shown to clinicians (it passes the quality gate
  in the version's card) when the lower bound of its realised AUC's 95 % CI is below
  ``base.settings.QUALITY_GATE_MIN_AUC_LOWER``, the bound the gate itself uses: on this
  clinic's patients the outcome no longer meets the bar for being shown. An outcome the
  card already greys is noted, not re-suggested (it is not shown to anyone).
- **Retraining suggested** for the version when any feature's PSI between the training
  patients and the recent patients exceeds ``PSI_SIGNIFICANT`` (0.25); PSI 0.1-0.25 is
  reported as a moderate shift to watch (reference §7, an industry convention).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import chi2, norm

from base.settings import QUALITY_GATE_MIN_AUC_LOWER
from models.clinical.quality_gate import outcome_quality
from models.clinical.risk_wording import wilson
from models.contract.schema import FEATURES, outcome, outcome_names
from models.learners.calibration import logit
from training.evaluate import logistic_batch, metrics_with_ci

PSI_MODERATE, PSI_SIGNIFICANT = 0.1, 0.25  # clinical-reference §7
PSI_BINS = 10
PSI_FLOOR = 1e-4  # share given to an empty bin so the log stays finite
MIN_PATIENTS, MIN_EVENTS = 100, 10
ALPHA = 0.05


def feature_profile(patients: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """The training patients' distribution per feature (stored in the model card).

    Numbers: decile edges and the share in each bin; categories and yes/no: the share of
    each level.
    """
    profile: dict[str, dict[str, Any]] = {}
    for spec in FEATURES:
        column = patients[spec.name]
        if spec.dtype in ("int", "float"):
            values = column.astype(float).to_numpy()
            given = values[~np.isnan(values)]  # empty: the other route's dose unit
            edges = np.unique(np.quantile(given, np.linspace(0, 1, PSI_BINS + 1)[1:-1])) \
                if len(given) else np.array([])
            shares = np.bincount(np.searchsorted(edges, given, side="right"),
                                 minlength=len(edges) + 1) / max(len(values), 1)
            profile[spec.name] = {"kind": "numeric", "edges": edges.tolist(),
                                  "shares": shares.tolist(),
                                  "empty": float(np.isnan(values).mean()) if len(values) else 0.0}
        else:
            shares = column.astype(str).value_counts(normalize=True)
            profile[spec.name] = {"kind": "category", "shares": shares.to_dict()}
    return profile


def _psi(expected: np.ndarray, actual: np.ndarray) -> float:
    e = np.maximum(np.asarray(expected, float), PSI_FLOOR)
    a = np.maximum(np.asarray(actual, float), PSI_FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def drift_table(profile: dict[str, dict[str, Any]], recent: pd.DataFrame) -> pd.DataFrame:
    """PSI per feature of ``recent`` against the training profile, largest first."""
    rows = []
    for spec in FEATURES:
        entry = profile.get(spec.name)
        if entry is None or spec.name not in recent:
            continue
        column = recent[spec.name]
        if entry["kind"] == "numeric":
            edges = np.asarray(entry["edges"], float)
            values = column.astype(float).to_numpy()
            given = values[~np.isnan(values)]
            counts = np.bincount(np.searchsorted(edges, given, side="right"),
                                 minlength=len(edges) + 1)
            n = max(len(values), 1)
            psi = _psi([*entry["shares"], entry.get("empty", 0.0)],  # older cards: no empty
                       [*(counts / n), (len(values) - len(given)) / n])
        else:
            levels = sorted(set(entry["shares"]) | set(column.astype(str)))
            observed = column.astype(str).value_counts(normalize=True)
            psi = _psi([entry["shares"].get(k, 0.0) for k in levels],
                       [float(observed.get(k, 0.0)) for k in levels])
        level = ("significant" if psi > PSI_SIGNIFICANT else
                 "moderate" if psi > PSI_MODERATE else "stable")
        rows.append({"feature": spec.name, "label": spec.label, "psi": psi, "shift": level})
    table = pd.DataFrame(rows, columns=["feature", "label", "psi", "shift"])
    return table.sort_values("psi", ascending=False, ignore_index=True)


def cox_test(y: np.ndarray, p: np.ndarray) -> float:
    """p-value of the joint test intercept 0, slope 1 (likelihood ratio, 2 df)."""
    z = logit(np.asarray(p, float))
    y = np.asarray(y, float)
    a, b = logistic_batch(z[None], y[None])
    fitted = 1 / (1 + np.exp(-(a[0] * z + b[0])))
    eps = 1e-12

    def loglik(q: np.ndarray) -> float:
        q = np.clip(q, eps, 1 - eps)
        return float(np.sum(y * np.log(q) + (1 - y) * np.log(1 - q)))

    statistic = 2 * (loglik(fitted) - loglik(np.asarray(p, float)))
    return float(chi2.sf(max(statistic, 0.0), df=2))


def decile_table(y: np.ndarray, p: np.ndarray) -> list[dict[str, float]]:
    """Observed vs mean predicted in deciles of the prediction, Wilson 95 % CIs."""
    order = np.argsort(p, kind="stable")
    rows = []
    for number, chunk in enumerate(np.array_split(order, min(10, len(order))), start=1):
        if not len(chunk):
            continue
        events = float(y[chunk].sum())
        lo, hi = wilson(events, len(chunk))
        rows.append({"decile": number, "n": int(len(chunk)),
                     "mean_predicted": float(p[chunk].mean()),
                     "observed": events / len(chunk), "observed_lo": lo, "observed_hi": hi})
    return rows


@dataclass
class OutcomeMonitor:
    """Realised performance of one outcome of one version."""

    outcome: str
    n: int
    events: int
    metrics: dict[str, dict[str, float | None]] = field(default_factory=dict)
    deciles: list[dict[str, float]] = field(default_factory=list)
    cox_p: float | None = None
    auc_drop_p: float | None = None
    test_auc: dict[str, Any] = field(default_factory=dict)
    suggestion: str = ""  # "", "recalibration", "retraining", "not enough outcomes yet"
    reason: str = ""


def monitor_outcome(name: str, y: np.ndarray, p: np.ndarray, card: dict[str, Any],
                    n_outcomes: int, n_boot: int = 200) -> OutcomeMonitor:
    """Realised AUC and calibration with CIs, and what the rule suggests for this outcome."""
    y, p = np.asarray(y, int), np.asarray(p, float)
    events = int(y.sum())
    test_auc = ((card.get("metrics") or {}).get(name) or {}).get("auc") or {}
    result = OutcomeMonitor(name, int(len(y)), events, test_auc=test_auc)
    if len(y) < MIN_PATIENTS or min(events, len(y) - events) < MIN_EVENTS:
        result.suggestion = "not enough outcomes yet"
        result.reason = (f"{len(y)} ended series, {events} with the outcome (need "
                         f"{MIN_PATIENTS} and {MIN_EVENTS} with and without)")
        return result
    result.metrics = metrics_with_ci(y, p, n_boot=n_boot)
    result.deciles = decile_table(y, p)
    result.cox_p = cox_test(y, p)
    apply_rule(result, n_outcomes, card)
    return result


def auc_drop_p(realised: dict[str, Any], test: dict[str, Any]) -> float | None:
    """One-sided p-value that the realised AUC is below the test AUC (None: no CIs)."""
    values = [realised.get(k) for k in ("value", "lo", "hi")] + [
        test.get(k) for k in ("value", "lo", "hi")]
    if any(v is None for v in values):
        return None
    a, a_lo, a_hi, b, b_lo, b_hi = (float(v) for v in values)
    se = np.hypot((a_hi - a_lo) / 3.92, (b_hi - b_lo) / 3.92)
    return float(norm.cdf((a - b) / se)) if se > 0 else None


def _ci(entry: dict[str, Any]) -> str:
    value = "n/a" if entry.get("value") is None else f"{entry['value']:.2f}"
    return f"{value} (95 % CI {entry['lo']:.2f} to {entry['hi']:.2f})"


def _excludes(entry: dict[str, Any] | None, ideal: float) -> bool:
    """Whether a ``{value, lo, hi}`` CI lies wholly on one side of ``ideal``."""
    if not entry or entry.get("lo") is None or entry.get("hi") is None:
        return False
    return float(entry["lo"]) > ideal or float(entry["hi"]) < ideal


def calibration_ci_reasons(metrics: dict[str, dict[str, Any]]) -> list[str]:
    """A sentence per calibration figure whose 95 % CI excludes its ideal value."""
    return [f"calibration {label} {_ci(metrics[key])} excludes the ideal {ideal:g}"
            for key, label, ideal in (("calibration_slope", "slope", 1.0),
                                      ("calibration_intercept", "intercept", 0.0))
            if _excludes(metrics.get(key), ideal)]


def gate_reason(auc: dict[str, Any], card: dict[str, Any], name: str,
                threshold: float = QUALITY_GATE_MIN_AUC_LOWER) -> tuple[bool, str]:
    """(fires, sentence) for the realised AUC against the quality gate's bound: fires when
    the lower 95 % bound is below ``threshold`` for an outcome the card shows."""
    if auc.get("lo") is None or float(auc["lo"]) >= threshold:
        return False, ""
    if not outcome_quality(card, name, threshold).reliable:
        return False, (f"realised ROC AUC {_ci(auc)} is below the quality gate too (already "
                       "greyed for clinicians by this version's card)")
    return True, (f"realised ROC AUC {_ci(auc)}: lower bound below the quality gate's "
                  f"{threshold:.2f}, so on this clinic's patients the outcome no longer ranks "
                  "patients reliably (it is still shown to clinicians)")


def apply_rule(result: OutcomeMonitor, n_outcomes: int, card: dict[str, Any]) -> None:
    """Set ``result.suggestion`` and ``reason`` from its metrics (the rule in the docstring
    above); ``card`` is the version's, for the test AUC's gate verdict."""
    m, reasons, notes = result.metrics, [], []
    auc, test = m["auc"], result.test_auc
    alpha = ALPHA / max(n_outcomes, 1)
    result.auc_drop_p = auc_drop_p(auc, test)
    if result.auc_drop_p is not None and result.auc_drop_p < alpha:
        result.suggestion = "retraining"
        reasons.append(f"realised ROC AUC {_ci(auc)} is below the held-out test AUC "
                       f"{test['value']:.2f} (95 % CI {test['lo']:.2f} to {test['hi']:.2f}; "
                       f"one-sided p = {result.auc_drop_p:.1e} < {ALPHA}/{n_outcomes})")
    fires, sentence = gate_reason(auc, card, result.outcome)
    if fires:
        result.suggestion = "retraining"
        reasons.append(sentence)
    elif sentence:
        notes.append(sentence)
    if result.cox_p is not None and result.cox_p < alpha:
        result.suggestion = result.suggestion or "recalibration"
        reasons.append(f"miscalibrated (Cox test p = {result.cox_p:.1e} < {ALPHA}/"
                       f"{n_outcomes}): intercept {_ci(m['calibration_intercept'])}, slope "
                       f"{_ci(m['calibration_slope'])}")
    else:
        calibration = calibration_ci_reasons(m)
        if calibration:
            result.suggestion = result.suggestion or "recalibration"
            reasons.append("miscalibrated: " + "; ".join(calibration))
    result.reason = "; ".join(reasons + notes)


def drift_suggestion(drift: pd.DataFrame) -> tuple[str, str]:
    """("retraining", reason) when a feature drifted significantly, else ("", note)."""
    if drift.empty:
        return "", "no training profile in this version's card: drift not available"
    significant = drift[drift["shift"] == "significant"]
    moderate = drift[drift["shift"] == "moderate"]

    def names(frame: pd.DataFrame) -> str:
        return ", ".join(f"{r.label} (PSI {r.psi:.2f})" for r in frame.itertuples())

    if len(significant):
        return "retraining", f"significant input drift (PSI > {PSI_SIGNIFICANT}): " + names(
            significant)
    if len(moderate):
        return "", f"moderate shift to watch (PSI {PSI_MODERATE}-{PSI_SIGNIFICANT}): " + names(
            moderate)
    return "", f"every feature stable (PSI < {PSI_MODERATE})"


@dataclass
class VersionMonitor:
    """Everything the Monitoring view and `kapcds monitor` show for one version."""

    version: str
    source: str
    n_patients: int
    outcomes: list[OutcomeMonitor]
    drift: pd.DataFrame
    n_recent: int
    suggestion: str
    reasons: list[str]
    actions: list[str] = field(default_factory=list)


def update_action(name: str, suggestion: str) -> str:
    """The update that would answer one suggestion (``kapcds update``; issue 29)."""
    command = f"kapcds update --from-store --outcome {name} --method auto"
    if suggestion == "recalibration":
        return (f"{outcome(name).label}: run \"{command}\" (the closed test tries recalibration in "
                "the large and logistic recalibration first; registers a candidate)")
    return (f"{outcome(name).label}: run \"{command}\" (revision or refit where the sample size "
            "allows them), or \"kapcds train --from-store\" for a new model on the clinic")


def monitor_version(version: str, card: dict[str, Any], labelled: pd.DataFrame,
                    probabilities: pd.DataFrame, recent: pd.DataFrame, source: str,
                    n_boot: int = 200) -> VersionMonitor:
    """Monitor a version: ``labelled`` holds realised outcomes, ``probabilities`` the
    version's predictions for the same rows (``<outcome>`` columns), ``recent`` the newest
    patients' features for drift."""
    names = [n for n in outcome_names() if n in labelled and n in probabilities]
    outcomes = [monitor_outcome(n, labelled[n].to_numpy(), probabilities[n].to_numpy(), card,
                                len(names), n_boot) for n in names]
    profile = card.get("monitoring_profile") or {}
    drift = drift_table(profile, recent) if profile and len(recent) else pd.DataFrame(
        columns=["feature", "label", "psi", "shift"])
    drift_kind, drift_reason = drift_suggestion(drift)
    reasons = [f"{outcome(o.outcome).label}: {o.suggestion} suggested: {o.reason}"
               for o in outcomes if o.suggestion in ("recalibration", "retraining")]
    if drift_kind:
        reasons.append(f"inputs: retraining suggested: {drift_reason}")
    kinds = {o.suggestion for o in outcomes} | {drift_kind}
    suggestion = ("retraining suggested" if "retraining" in kinds else
                  "recalibration suggested" if "recalibration" in kinds else "")
    actions = [update_action(o.outcome, o.suggestion) for o in outcomes
               if o.suggestion in ("recalibration", "retraining")]
    if drift_kind:
        actions.append("inputs: run \"kapcds train --from-store\" (a model fitted on the clinic's "
                       "own patients) once enough series have ended")
    return VersionMonitor(version, source, int(len(labelled)), outcomes, drift,
                          int(len(recent)), suggestion, reasons or [drift_reason], actions)
