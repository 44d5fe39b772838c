"""The model card: what a version is for, what it was trained on and how well it did.

Stored as JSON beside the models (machine-readable for the model lab) and as Markdown
(for people); both come from the same dict so they cannot disagree.
"""

from __future__ import annotations

import platform
from datetime import datetime, timezone
from importlib import metadata
from typing import Any

from models.clinical.quality_gate import card_section
from models.contract.directions import SOURCED_DIRECTIONS, UNCONSTRAINABLE
from models.contract.schema import schema_hash
from models.learners.calibration import PLATT_PRIOR_SD
from models.learners.uncertainty import INTERVAL_LEVEL, MAX_MEMBER_ROWS, N_MEMBERS

INTENDED_USE = (
    "Decision support for clinicians running ketamine-assisted psychotherapy (KAP): an "
    "estimate of each patient's chance of response and remission and risk of side effects "
    "over an induction series, with an explanation and out-of-distribution warnings, to "
    "inform (never replace) a clinician's judgement. Also for teaching (what-if explorer)."
)
OUT_OF_SCOPE = (
    "Use on real patients: every model here is trained on synthetic data only.",
    "Diagnosis, or screening for eligibility (the rule-based screen does that, not the models).",
    "Automated decisions of any kind without a clinician reviewing the case.",
    "Children and adolescents (the cohort is adults 18+).",
    "Routes, doses or indications outside the training ranges (see the OOD flags).",
)
LIMITS = (
    "Synthetic cohort: effect directions follow the published literature, but effect sizes "
    "marked unsourced are assumptions; metrics show how well the models recover the "
    "generator's rules, not clinical validity.",
    "Small data: confidence intervals are wide, especially for rare side effects and small "
    "subgroups.",
    "Calibration is a Platt map of the raw margin fitted on out-of-fold margins of the "
    "training and validation patients (see Models); it must be rechecked on any new "
    "population (the model lab's Monitoring view does this on the clinic's patients).",
    "The PHQ-9 trajectory band is learned from attended sessions only, so later sessions "
    "over-represent patients who stayed in treatment.",
    "Associations, not causes: a what-if change shows what the model predicts, not what the "
    "change would do to a patient.",
    "The OOD detector stores standardised training rows for its nearest-neighbour check.",
)
PACKAGES = ("lightgbm", "shap", "scikit-learn", "pandas", "numpy", "joblib")


def package_versions() -> dict[str, str]:
    """Python and key package versions, recorded so a version can be reproduced."""
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


INTERVAL_TEXT = (
    f"Per-patient {INTERVAL_LEVEL:.0%} interval on the calibrated log-odds: the prediction "
    f"± z·sqrt(bootstrap variance of {N_MEMBERS} resampled boosters, each Platt-calibrated "
    f"on its out-of-bag patients (above {MAX_MEMBER_ROWS:,} patients, resamples of "
    f"{MAX_MEMBER_ROWS:,}: a wider spread than the full bootstrap's), + the mean squared "
    "disagreement with a penalised logistic "
    "regression, an estimate of the approximation error resampling cannot see); coverage "
    "of the generator's true probabilities is measured in tests/model and docs/monitoring.md")


def calibration_text(cv_folds: int) -> str:
    """How the outcome models are calibrated, in the words of ``OutcomeModel.fit``."""
    if cv_folds >= 2:
        return (f"Platt map sigmoid(a * margin + b) fitted on {cv_folds}-fold out-of-fold "
                "margins of the pooled training and validation patients, with a Gaussian "
                f"prior on the slope a (mean 1, SD {PLATT_PRIOR_SD}); the final booster is "
                f"refitted on the whole pool with {cv_folds}/{cv_folds - 1} times the "
                "cross-validated number of trees")
    if cv_folds == 1:
        return ("Platt map sigmoid(a * margin + b) fitted on the validation split's margins "
                "(early stopping on the same split; a large pool needs no folds), with a "
                f"Gaussian prior on the slope a (mean 1, SD {PLATT_PRIOR_SD}); the final "
                "booster is refitted on training + validation patients with pool/train "
                "times the early-stopped number of trees")
    return ("Platt map sigmoid(a * margin + b) fitted on the validation split's margins, "
            f"with a Gaussian prior on the slope a (mean 1, SD {PLATT_PRIOR_SD})")


def build_card(report: dict[str, Any], train_summary: dict[str, Any],
               training_seconds: float, data: dict[str, Any] | None = None,
               created_utc: str | None = None, trained_by: str | None = None
               ) -> dict[str, Any]:
    """Assemble the card from the test-split report and the training summary.

    ``quality_gate`` records the per-outcome gate (``models.clinical.quality_gate``) as it stood at
    training time: the threshold and each outcome's verdict. ``trained_by`` is who started
    the training (the signed-in user in the model lab, the OS user for the CLI).
    """
    outcomes = report.get("outcomes", {})
    metrics = {name: {key: entry[key] for key in ("n", "prevalence", "auc", "pr_auc", "brier",
                                                  "calibration_intercept",
                                                  "calibration_slope")}
               for name, entry in outcomes.items()}
    return {
        "title": "KAP-CDS outcome models",
        "created_utc": created_utc or datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "trained_by": trained_by or "unknown",
        "intended_use": INTENDED_USE,
        "out_of_scope": list(OUT_OF_SCOPE),
        "training_data": {"description": "Synthetic KAP cohort from training.generator.generate (a "
                          "documented causal model; see docs).", **(data or {}),
                          "splits": {k: train_summary.get(k) for k in
                                     ("n_train", "n_valid", "n_test")}},
        "models": {"algorithm": "LightGBM gradient-boosted trees, one binary model per "
                   "outcome; LightGBM quantile regression for the PHQ-9 band; "
                   "nearest-neighbour OOD detector",
                   "calibration": calibration_text(int(train_summary.get("cv_folds", 5))),
                   "interval": INTERVAL_TEXT,
                   "outcomes": train_summary.get("outcomes", {}),
                   "params": train_summary.get("params", {}),
                   "monotone_constraints": {
                       "rule": "sourced directions of clinical-reference §2/§3 only "
                               "(models/contract/directions.py); unsourced ones are free",
                       "constrained": [{"outcome": d.outcome, "feature": d.feature,
                                        "direction": d.direction, "source": d.source}
                                       for d in SOURCED_DIRECTIONS],
                       "not_constrainable": [{"outcome": o, "feature": f, "why": why}
                                             for o, f, why in UNCONSTRAINABLE]}},
        "metrics": metrics,
        "quality_gate": card_section(metrics),
        "subgroups": {name: entry.get("subgroups", []) for name, entry in outcomes.items()},
        "evaluation": {"split": "held-out test patients (never used for fitting, early "
                       "stopping or calibration)", "n_bootstrap":
                       report.get("n_bootstrap")},
        "limits": list(LIMITS),
        "packages": package_versions(),
        "schema_hash": schema_hash(),
        "training_seconds": round(float(training_seconds), 2),
    }
