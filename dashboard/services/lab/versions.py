"""Model lab services: training data, hyperparameters, evaluation curves, version comparison
and promotion (no Streamlit here, so every number the lab shows is testable).

Uploaded CSVs are parsed as text and validated with ``models.contract.validation``; nothing from an
upload is ever unpickled, and nothing is used if any row is invalid.
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import precision_recall_curve, roc_curve

from base.settings import DATA_SAMPLES_DIR
from models.clinical.quality_gate import gate_table
from models.contract.csv_input import read_csv_strict
from models.contract.schema import ID_COLUMN, OUTCOMES, feature, outcome
from models.contract.validation import InputValidationError, validate_patients, validate_sessions
from models.inference.explain import global_importance
from models.learners.estimators import DEFAULT_PARAMS
from models.store.card_text import format_ci
from models.store.modelset import ModelSet
from models.store.registry import Registry
from training.data import load_dataset
from training.evaluate import auc_batch
from training.generator.generate import generate_cohort
from training.generator.settings import EffectSettings
from training.provenance import data_sha256, fingerprints, heldout_fingerprints, unseen_mask
from training.train import TrainResult

log = logging.getLogger(__name__)

# The hyperparameters the lab exposes, with why their defaults are what they are.
TUNABLE: dict[str, str] = {
    "learning_rate": "Slow learning with early stopping keeps variance low on small cohorts.",
    "num_leaves": "Shallow trees: few interactions, less overfitting.",
    "min_data_in_leaf": "At least this many patients per leaf: no memorising rare patients.",
    "feature_fraction": "Share of inputs each tree sees (decorrelates trees).",
    "lambda_l2": "L2 penalty on leaf values (smooths the fit).",
}
# A few generator knobs (training.generator.settings.EffectSettings) worth varying.
KNOBS: dict[str, str] = {
    "bmi_per_unit": "Response log-odds per BMI unit",
    "benzo_per_mg_above_8": "Response per mg/day benzodiazepine above 8",
    "dose_per_relative_unit": "Response per relative dose unit",
    "nausea_opioid": "Nausea log-odds with an opioid",
}
N_BOOT_COMPARE = 200
# A comparison needs this many patients that neither version saw (a documented choice: with
# fewer, the paired AUC difference's CI spans several hundredths for every outcome), and an
# outcome needs this many patients with and without it.
MIN_UNSEEN_PATIENTS = 100
MIN_EVENTS = 10


def default_params() -> dict[str, Any]:
    """The tunable defaults from ``models.learners.estimators.DEFAULT_PARAMS``."""
    return {name: DEFAULT_PARAMS[name] for name in TUNABLE}


def default_knobs() -> dict[str, float]:
    """The generator's documented effect sizes for the exposed knobs."""
    settings = EffectSettings()
    return {name: float(getattr(settings, name)) for name in KNOBS}


def sample_data() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The bundled synthetic cohort in ``data_samples/`` (validated on load)."""
    return load_dataset(DATA_SAMPLES_DIR)


def generated_data(n_patients: int, seed: int,
                   knobs: dict[str, float] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A fresh synthetic cohort with some effect sizes changed."""
    settings = dataclasses.replace(EffectSettings(), **(knobs or {}))
    cohort = generate_cohort(int(n_patients), int(seed), settings=settings)
    return cohort.patients, cohort.sessions


def errors_frame(error: InputValidationError, file: str) -> pd.DataFrame:
    """Row-level problems as a table: file, row (as in the file), column, message."""
    return pd.DataFrame([{"file": file, "row": e.row, "column": e.column, "message": e.message}
                         for e in error.errors])


def uploaded_data(patients_csv: bytes, sessions_csv: bytes
                  ) -> tuple[pd.DataFrame, pd.DataFrame] | pd.DataFrame:
    """Validated (patients, sessions) from an uploaded CSV pair, or the table of errors."""
    problems = []
    with tempfile.TemporaryDirectory() as folder:
        frames: dict[str, pd.DataFrame] = {}
        for name, content in (("patients.csv", patients_csv), ("sessions.csv", sessions_csv)):
            path = Path(folder) / name
            path.write_bytes(content)
            try:
                raw = read_csv_strict(path)
                if name == "patients.csv":
                    frames[name] = validate_patients(raw, require_outcomes=True)
                else:
                    ids = frames["patients.csv"][ID_COLUMN] if "patients.csv" in frames else None
                    frames[name] = validate_sessions(raw, known_patient_ids=ids)
            except InputValidationError as error:
                problems.append(errors_frame(error, name))
    if problems:
        return pd.concat(problems, ignore_index=True)
    return frames["patients.csv"], frames["sessions.csv"]


def register(registry: Registry, result: TrainResult, patients: pd.DataFrame,
             trained_by: str | None = None) -> str:
    """Register a trained set (not promoted); its card already holds its test predictions.

    ``trained_by`` (the signed-in user) goes into the card.
    """
    del patients  # kept for callers; train_model_set stores the test predictions itself
    card = {**result.card, "trained_by": trained_by} if trained_by else result.card
    return registry.register(result.model_set, card)


def version_labels(registry: Registry) -> dict[str, str]:
    """``id — data, n patients, date, by whom`` for every version (selectors' labels)."""
    return {row["id"]: f"{row['id']} — {row.get('description', '')}"
            for row in registry.versions()}


def promotion_message(version: str, label: str, previous: str | None) -> str:
    """What the page says once a version has been promoted."""
    description = label.split(" — ", 1)[-1]
    was = f" (replacing {previous})" if previous and previous != version else ""
    return (f"Promoted {version} ({description}) to current{was}. Clinicians' pages use it "
            "from their next page load.")


def gate_verdicts(card: dict[str, Any]) -> pd.DataFrame:
    """The quality gate's verdict per outcome of a card (model lab evaluation tab)."""
    rows = [{"outcome": outcome_label(name), "shown to clinicians": q.reliable,
             "test AUC (95 % CI)": q.auc_text, "why": q.reason}
            for name, q in gate_table(card).items()]
    return pd.DataFrame(rows)


def outcome_label(name: str) -> str:
    """An outcome's label (``relapse`` and unknown names as they are)."""
    try:
        return outcome(name).label
    except KeyError:
        return name


@dataclasses.dataclass
class EvalData:
    """Labels and predictions per outcome, and which data they are (for captions)."""

    source: str
    y: dict[str, np.ndarray]
    p: dict[str, np.ndarray]


def evaluation_data(model_set: ModelSet, card: dict[str, Any]) -> EvalData:
    """This version's own held-out test patients: the predictions stored in its card, else
    those patients re-scored from data_samples/ when the card's data hash says that is
    the data it was trained on. Anything else is refused (``ValueError``): scoring a
    version on patients it may have trained on would flatter it."""
    stored = card.get("evaluation", {}).get("test_predictions")
    if stored:
        return EvalData("this version's own held-out test patients (predictions stored in its "
                        "model card)", {k: np.asarray(v["y"]) for k, v in stored.items()},
                        {k: np.asarray(v["p"]) for k, v in stored.items()})
    record = card.get("patients") or {}
    patients, _ = sample_data()
    if record.get("data_sha256") != data_sha256(patients):
        raise ValueError(f"version {card.get('version', '?')} stores no test predictions and "
                         "was not trained on data_samples/; its held-out patients cannot be "
                         "re-scored here")
    held = patients[fingerprints(patients).isin(heldout_fingerprints(card) or set())]
    proba = model_set.predict_proba(held)
    return EvalData(f"this version's {len(held):,} held-out test patients, re-scored from "
                    "data_samples/ (matched by fingerprint)",
                    {n: held[n].astype(int).to_numpy() for n in model_set.outcomes if n in held},
                    {n: proba[n].to_numpy() for n in model_set.outcomes if n in held})


def curves(y: np.ndarray, p: np.ndarray) -> pd.DataFrame:
    """An empty frame carrying ROC (fpr, tpr) and PR (precision, recall) in ``attrs``."""
    frame = pd.DataFrame()
    fpr, tpr, _ = roc_curve(y, p)
    precision, recall, _ = precision_recall_curve(y, p)
    frame.attrs["roc"] = {"fpr": fpr.tolist(), "tpr": tpr.tolist()}
    frame.attrs["pr"] = {"precision": precision.tolist(), "recall": recall.tolist()}
    return frame


def calibration_summary(entry: dict[str, Any]) -> dict[str, str]:
    """Intercept, slope and Brier with 95 % CIs (from the card's report)."""
    return {"Cal. intercept": format_ci(entry.get("calibration_intercept"), 2),
            "Cal. slope": format_ci(entry.get("calibration_slope"), 2),
            "Brier": format_ci(entry.get("brier")), "ROC AUC": format_ci(entry.get("auc")),
            "PR AUC": format_ci(entry.get("pr_auc"))}


def subgroup_table(entry: dict[str, Any]) -> pd.DataFrame:
    """Subgroup AUC/Brier with the gap to the overall AUC (largest gaps first per variable)."""
    frame = pd.DataFrame(entry.get("subgroups", []))
    if frame.empty:
        return frame
    overall = (entry.get("auc") or {}).get("value")
    frame["AUC gap"] = frame["auc"] - overall if overall is not None else np.nan
    frame["largest gap"] = False
    for _, group in frame.groupby("variable"):
        gaps = group["AUC gap"].abs()
        if gaps.notna().any():
            frame.loc[gaps.idxmax(), "largest gap"] = True
    return frame


def importance(model_set: ModelSet, outcome: str, n: int = 300) -> pd.Series:
    """Global mean |SHAP| on a sample of the bundled cohort."""
    patients, _ = sample_data()
    values = global_importance(model_set, patients.sample(min(n, len(patients)), random_state=0),
                               outcome)
    return values.rename(index=lambda name: feature(name).label)


class ComparisonRefused(ValueError):
    """Too few patients that neither version saw: no honest comparison is possible."""


@dataclasses.dataclass
class Comparison:
    """A paired comparison on patients neither version trained or validated on."""

    table: pd.DataFrame
    source: str
    n_pool: int  # patients in the pool
    n_unseen: int  # of them, seen by neither version (the ones scored)
    skipped: list[str]  # outcomes left out (too few events among the unseen patients)
    # outcome name → (AUC difference candidate − current, 95 % CI lo, hi): the promotion review
    auc_differences: dict[str, tuple[float, float, float]] = dataclasses.field(
        default_factory=dict)

    @property
    def caption(self) -> str:
        text = (f"Paired bootstrap on {self.n_unseen:,} of the {self.n_pool:,} patients of "
                f"{self.source} that neither version trained or validated on (the same "
                f"patients for both; {self.n_pool - self.n_unseen:,} excluded).")
        if self.skipped:
            text += f" Left out for fewer than {MIN_EVENTS} events: {', '.join(self.skipped)}."
        return text


def comparison_pool(source: str = "data_samples/", n_patients: int = 2000,
                    seed: int = 1) -> tuple[pd.DataFrame, str]:
    """Labelled patients to compare on: data_samples/ or a freshly generated cohort."""
    if source == "data_samples/":
        return sample_data()[0], "data_samples/"
    cohort = generate_cohort(int(n_patients), int(seed))
    return cohort.patients, f"a generated cohort ({int(n_patients):,} patients, seed {seed})"


def compare_versions(candidate: ModelSet, candidate_card: dict[str, Any], current: ModelSet,
                     current_card: dict[str, Any], pool: tuple[pd.DataFrame, str] | None = None,
                     n_boot: int = N_BOOT_COMPARE, seed: int = 0,
                     min_patients: int = MIN_UNSEEN_PATIENTS) -> Comparison:
    """Paired bootstrap of AUC and Brier differences (candidate − current) on the patients
    of ``pool`` (default data_samples/) that neither version trained or validated on, so the
    CI is for the difference itself and neither side is scored on patients it learned from.
    ``ComparisonRefused`` when fewer than ``min_patients`` remain."""
    patients, source = pool if pool is not None else comparison_pool()
    patients = patients.reset_index(drop=True)
    keep = unseen_mask(patients, [candidate_card, current_card])
    held = patients[keep].reset_index(drop=True)
    if len(held) < min_patients:
        raise ComparisonRefused(
            f"only {len(held):,} of the {len(patients):,} patients of {source} were seen by "
            f"neither version (at least {min_patients} are needed): the others trained or "
            "validated one of them. Compare on a generated cohort instead.")
    pa, pb = candidate.predict_proba(held), current.predict_proba(held)
    idx = np.random.default_rng(seed).integers(0, len(held), size=(n_boot, len(held)))
    rows, skipped, differences = [], [], {}
    for spec in OUTCOMES:
        if spec.name not in pa or spec.name not in pb or spec.name not in held:
            continue
        y = held[spec.name].astype(float).to_numpy()
        if min(y.sum(), len(y) - y.sum()) < MIN_EVENTS:
            skipped.append(spec.label)
            continue
        paired = _paired_rows(spec.label, y, pa[spec.name].to_numpy(),
                              pb[spec.name].to_numpy(), idx)
        differences[spec.name] = paired[0]["auc_ci"]
        rows += [{k: v for k, v in row.items() if k != "auc_ci"} for row in paired]
    return Comparison(pd.DataFrame(rows), source, len(patients), len(held), skipped,
                      differences)


def _brier(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    return ((p - y) ** 2).mean(axis=1)


def _paired_rows(label: str, y: np.ndarray, a: np.ndarray, b: np.ndarray,
                 idx: np.ndarray) -> list[dict[str, Any]]:
    rows = []
    for metric, fn in (("ROC AUC", auc_batch), ("Brier", _brier)):
        cand, cur = float(fn(y[None], a[None])[0]), float(fn(y[None], b[None])[0])
        boot = fn(y[idx], a[idx]) - fn(y[idx], b[idx])
        lo, hi = np.nanpercentile(boot, [2.5, 97.5])
        rows.append({"outcome": label, "metric": metric, "current": cur, "candidate": cand,
                     "difference": cand - cur, "95 % CI": f"{lo:+.3f} to {hi:+.3f}",
                     "auc_ci": (cand - cur, float(lo), float(hi))})
    return rows
