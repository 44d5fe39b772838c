"""Synthetic KAP cohort: patients, their sessions, derived outcomes and the oracle.

Seeded and reproducible: the same ``n_patients`` and ``seed`` give byte-identical files.
Baseline draws, the recorded series and the oracle use separate random streams, so asking
for the oracle never changes the cohort itself.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from base.files import write_atomically
from models.contract.schema import FEATURES, ID_COLUMN, NAME_COLUMN, SESSION_FIELDS, outcome_names
from training.generator.cohort_patients import draw_names, draw_patients, shift_population
from training.generator.cohort_sessions import simulate_series
from training.generator.followup import FollowupSettings, oracle_relapse
from training.generator.followup_records import csv_text, generate_followup
from training.generator.settings import (
    PLANTED_CATEGORY_ORDER,
    PLANTED_DIRECTIONS,
    EffectSettings,
    PopulationSettings,
)
from training.outcomes import derive_outcomes

log = logging.getLogger(__name__)

ORACLE_REPLICATES = 400
_CHUNK_ROWS = 100_000


@dataclass
class Cohort:
    """A generated cohort: patient rows (features + outcomes), session rows, true risks."""

    patients: pd.DataFrame
    sessions: pd.DataFrame
    truth: pd.DataFrame | None
    settings: EffectSettings
    seed: int
    # one row per patient (training.generator.followup_records)
    followup: pd.DataFrame | None = None
    followup_sessions: pd.DataFrame | None = None  # follow-up visits, maintenance sessions
    followup_settings: FollowupSettings | None = None


def generate_cohort(n_patients: int, seed: int, settings: EffectSettings | None = None,
                    with_truth: bool = False, oracle_replicates: int = ORACLE_REPLICATES,
                    id_offset: int = 0,
                    followup_settings: FollowupSettings | None = None,
                    population: PopulationSettings | None = None) -> Cohort:
    """Generate ``n_patients`` synthetic patients with their induction series and follow-up.

    ``population`` shifts the referral population (``PopulationSettings``). The follow-up
    uses a fourth random stream (``spawn(4)[3]``; spawn(4)'s first three
    children equal spawn(3)'s), so adding it left the existing files byte-identical.
    """
    if n_patients < 1:
        raise ValueError("n_patients must be at least 1")
    settings = settings or EffectSettings()
    base_seq, series_seq, oracle_seq, followup_seq = np.random.SeedSequence(seed).spawn(4)
    followup_settings = followup_settings or FollowupSettings()
    followup_record_seq, followup_oracle_seq = followup_seq.spawn(2)
    base_rng = np.random.default_rng(base_seq)
    features = draw_patients(n_patients, base_rng)
    if population is not None:  # its own stream: the default cohort stays byte-identical
        features = shift_population(features, population, np.random.default_rng([seed, 14]))
    ids = [f"KAP-{i + 1 + id_offset:05d}" for i in range(n_patients)]
    features.insert(0, NAME_COLUMN, draw_names(n_patients, base_rng))
    features.insert(0, ID_COLUMN, ids)

    series = simulate_series(features, np.random.default_rng(series_seq), settings)
    sessions = _sessions_frame(features, series)
    outcomes = derive_outcomes(features, sessions)
    patients = features.join(outcomes, on=ID_COLUMN)
    followup, followup_sessions = generate_followup(
        patients, sessions, np.random.default_rng(followup_record_seq), followup_settings)
    truth = None
    if with_truth:
        truth = oracle_probabilities(features, settings, np.random.default_rng(oracle_seq),
                                     oracle_replicates)
        followed = followup["series_completed"].to_numpy(dtype=bool)
        state = features.assign(**followup[["phq9_end_of_series", "maintenance_schedule"]])
        p_relapse = np.full(len(features), np.nan)
        p_relapse[followed] = oracle_relapse(
            state.loc[followed].reset_index(drop=True), followup_settings,
            np.random.default_rng(followup_oracle_seq), oracle_replicates)
        truth["p_relapse"] = p_relapse
    return Cohort(patients, sessions, truth, settings, seed, followup, followup_sessions,
                  followup_settings)


def oracle_probabilities(features: pd.DataFrame, settings: EffectSettings,
                         rng: np.random.Generator, replicates: int) -> pd.DataFrame:
    """True outcome probabilities: each patient's series re-run ``replicates`` times.

    Everything the models cannot see (latent sensitivity, session noise) is redrawn, so the
    mean outcome is the probability given the patient's recorded features.
    """
    totals = {name: np.zeros(len(features)) for name in outcome_names()}
    per_chunk = max(1, _CHUNK_ROWS // max(len(features), 1))
    done = 0
    while done < replicates:
        reps = min(per_chunk, replicates - done)
        tiled = features.iloc[np.tile(np.arange(len(features)), reps)].reset_index(drop=True)
        result = simulate_series(tiled, rng, settings, keep_sessions=False)
        for name in totals:
            totals[name] += result[name].reshape(reps, len(features)).sum(axis=0)
        done += reps
    truth = pd.DataFrame({ID_COLUMN: features[ID_COLUMN].to_numpy()})
    for name, total in totals.items():
        truth[f"p_{name}"] = total / replicates
    return truth


def _sessions_frame(features: pd.DataFrame, series: dict[str, np.ndarray]) -> pd.DataFrame:
    """One row per attended session, columns as ``models.contract.schema.SESSION_FIELDS``."""
    mask = series["mask"]
    patient_idx, session_idx = np.nonzero(mask)
    pick = (patient_idx, session_idx)
    frame = pd.DataFrame({
        "patient_id": features[ID_COLUMN].to_numpy()[patient_idx],
        "session_number": session_idx + 1,
        "route": features["route"].to_numpy()[patient_idx],
        "dose_mg_per_kg": features["dose_mg_per_kg"].to_numpy()[patient_idx],
        "esketamine_dose_mg": features["esketamine_dose_mg"].to_numpy()[patient_idx],
    })
    for name in ("day", "phq9", "phq9_item9", "gad7", "pcl5", "cssrs", "sbp_pre", "dbp_pre",
                 "hr_pre", "sbp_post", "dbp_post", "hr_post", "cadss", "minutes_to_discharge"):
        frame[name] = series[name][pick].astype(int)
    for name in ("nausea", "vomiting", "headache", "dizziness", "sedation"):
        frame[name] = series[name][pick].astype(bool)
    has_ptsd = features["dx_ptsd"].to_numpy()[patient_idx].astype(bool)
    frame["pcl5"] = frame["pcl5"].where(has_ptsd).astype("Int64")
    stopped = series["stopped_after"][patient_idx]
    planned = features["planned_sessions"].to_numpy()[patient_idx]
    frame["dropout_after"] = (frame["session_number"] == stopped) & (stopped < planned)
    return frame[[f.name for f in SESSION_FIELDS]]


def _to_csv_text(frame: pd.DataFrame) -> str:
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == bool:
            out[column] = out[column].map({True: "true", False: "false"})
    return out.to_csv(index=False, lineterminator="\n", float_format="%.4g")


def patient_columns() -> list[str]:
    """Column order of ``patients.csv``."""
    return ([ID_COLUMN, NAME_COLUMN] + [f.name for f in FEATURES] + outcome_names()
            + ["sessions_attended"])


def write_cohort(cohort: Cohort, out_dir: Path | str) -> list[Path]:
    """Write the cohort's CSVs (and truth/effects files when present) atomically."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {"patients.csv": _to_csv_text(cohort.patients[patient_columns()]),
             "sessions.csv": _to_csv_text(cohort.sessions)}
    if cohort.followup is not None and cohort.followup_sessions is not None:
        files["followup.csv"] = csv_text(cohort.followup)
        files["followup_sessions.csv"] = csv_text(cohort.followup_sessions)
    if cohort.truth is not None:
        files["truth.csv"] = cohort.truth.to_csv(index=False, lineterminator="\n",
                                                 float_format="%.4f")
        files["effects.json"] = json.dumps(
            {"seed": cohort.seed, "settings": cohort.settings.to_dict(),
             "directions": PLANTED_DIRECTIONS, "category_order": PLANTED_CATEGORY_ORDER},
            indent=2, sort_keys=True) + "\n"
    written = []
    for name, text in files.items():
        target = out_dir / name
        write_atomically(target, text)
        written.append(target)
    log.info("wrote %d patients and %d sessions to %s", len(cohort.patients),
             len(cohort.sessions), out_dir)
    return written
