"""Turn the follow-up simulation into records: exposure, long-term screens and the two files.

``followup.csv`` has one row per patient (plan, relapse, time to relapse or censoring,
cumulative exposure, last screens); ``followup_sessions.csv`` one row per follow-up visit or
maintenance session. Screens depend on cumulative exposure, so they are drawn here, after
the maintenance sessions are known.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.contract.followup_schema import (
    FOLLOWUP_WEEKS,
    SCREEN_WEEKS,
    SCREENS,
    followup_field_names,
    followup_patient_field_names,
)
from models.contract.schema import ID_COLUMN
from training.generator.dosing import exposure_units
from training.generator.followup import (
    FollowupSettings,
    assign_schedules,
    relapse_within_horizon,
    simulate_followup,
)

RECENT_DAYS = 28  # dosing frequency for screens and alerts: sessions in the last 4 weeks


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def end_of_series(patients: pd.DataFrame, sessions: pd.DataFrame) -> pd.DataFrame:
    """Per patient: last attended PHQ-9 and day, sessions attended, induction mg/kg (ketamine),
    induction mg (esketamine) and the generator-only exposure (``dosing.exposure_units``)."""
    ordered = sessions.sort_values([ID_COLUMN, "session_number"])
    ordered = ordered.assign(_exposure=exposure_units(
        ordered["route"].to_numpy(), ordered["dose_mg_per_kg"], ordered["esketamine_dose_mg"]))
    summary = ordered.groupby(ID_COLUMN, sort=False).agg(
        phq9_end_of_series=("phq9", "last"), last_day=("day", "last"),
        attended=("session_number", "count"), induction_mg_per_kg=("dose_mg_per_kg", "sum"),
        induction_esketamine_mg=("esketamine_dose_mg", "sum"),
        induction_exposure=("_exposure", "sum"))
    summary = summary.reindex(patients[ID_COLUMN].astype(str))
    missing = summary["attended"].isna().to_numpy()
    summary.loc[missing, ["last_day", "attended", "induction_mg_per_kg",
                          "induction_esketamine_mg", "induction_exposure"]] = 0
    summary.loc[missing, "phq9_end_of_series"] = patients["phq9_baseline"].to_numpy()[missing]
    return summary


def _maintenance_days(sim: dict[str, np.ndarray]) -> np.ndarray:
    """(patients, 2 * (weeks + 1)) session days after the series, NaN where none."""
    scheduled = np.where(sim["scheduled"], sim["day"], np.nan)
    return np.concatenate([scheduled, sim["booster_day"]], axis=1)


def draw_screens(p: pd.DataFrame, sim: dict[str, np.ndarray], attended: np.ndarray,
                 induction_mg: np.ndarray, rng: np.random.Generator,
                 s: FollowupSettings) -> dict[str, np.ndarray]:
    """Craving, MoCA, emotional blunting and urinary symptoms at each screen week.

    Each rises (MoCA falls) with cumulative sessions/dose and recent dosing frequency;
    arrays are (patients, len(SCREEN_WEEKS)), NaN where the visit was not observed.
    """
    n = len(p)
    dose = exposure_units(p["route"].to_numpy(), p["dose_mg_per_kg"], p["esketamine_dose_mg"])
    days = _maintenance_days(sim)
    cols = list(SCREEN_WEEKS)
    visit_day = sim["day"][:, cols]
    before = days[:, None, :] < visit_day[:, :, None]
    n_before = before.sum(axis=2)
    recent = (before & (days[:, None, :] >= visit_day[:, :, None] - RECENT_DAYS)).sum(axis=2)
    rate = recent / (RECENT_DAYS / 7)
    sessions = attended[:, None] + n_before
    mg = induction_mg[:, None] + n_before * dose[:, None]
    shape = (n, len(cols))

    craving = (s.craving_intercept
               + np.array([s.craving_substance[v] for v in p["substance_use"]])[:, None]
               + s.craving_per_session * sessions + s.craving_per_weekly_rate * rate
               + rng.normal(0, s.craving_sd, (n, 1)) + rng.normal(0, 0.5, shape))
    age_term = s.moca_per_year_over_50 * np.maximum(p["age"].to_numpy(dtype=float) - 50, 0)
    moca = (s.moca_mean + age_term[:, None] + rng.normal(0, s.moca_patient_sd, (n, 1))
            + s.moca_per_mg_per_kg * mg + rng.normal(0, s.moca_visit_sd, shape))
    benzo = (p["benzo_dose_mg"].to_numpy(dtype=float) > 0)[:, None]
    blunting = (s.blunting_intercept + s.blunting_benzo * benzo
                + s.blunting_per_session * sessions + rng.normal(0, s.blunting_sd, (n, 1))
                + rng.normal(0, 0.5, shape))
    urinary_p = _sigmoid(s.urinary_intercept + s.urinary_per_mg_per_kg * mg
                         + s.urinary_per_weekly_rate * rate)
    urinary = np.logical_or.accumulate(rng.random(shape) < urinary_p, axis=1)

    seen = sim["observed"][:, cols]
    out = {"craving_score": np.clip(np.round(craving), 0, 10),
           "moca": np.clip(np.round(moca), 0, 30),
           "blunting_score": np.clip(np.round(blunting), 0, 10),
           "urinary_symptoms": urinary.astype(float)}
    return {k: np.where(seen, v, np.nan) for k, v in out.items()}


def _sessions_rows(ids: np.ndarray, p: pd.DataFrame, sim: dict[str, np.ndarray],
                   screens: dict[str, np.ndarray]) -> pd.DataFrame:
    """Long frame: follow-up visits and maintenance sessions with cumulative exposure."""
    i, k = np.nonzero(sim["observed"])
    visits = pd.DataFrame({ID_COLUMN: ids[i], "kind": "followup", "week": k,
                           "day_after_series": sim["day"][i, k], "phq9": sim["phq9"][i, k]})
    screen_col = {w: j for j, w in enumerate(SCREEN_WEEKS)}
    for name in SCREENS:
        values = np.full(len(i), np.nan)
        for w, j in screen_col.items():
            at = k == w
            values[at] = screens[name][i[at], j]
        visits[name] = values
    si, sk = np.nonzero(sim["scheduled"])
    bi, bk = np.nonzero(sim["booster"])
    maint = pd.DataFrame({
        ID_COLUMN: np.concatenate([ids[si], ids[bi]]), "kind": "maintenance",
        "week": np.concatenate([sk, bk]),
        "day_after_series": np.concatenate([sim["day"][si, sk], sim["booster_day"][bi, bk]]),
        "_row": np.concatenate([si, bi])})
    maint["route"] = p["route"].to_numpy()[maint["_row"]]
    maint["dose_mg_per_kg"] = p["dose_mg_per_kg"].to_numpy(dtype=float)[maint["_row"]]
    maint["esketamine_dose_mg"] = p["esketamine_dose_mg"].to_numpy(dtype=float)[maint["_row"]]
    frame = pd.concat([visits, maint.drop(columns="_row")], ignore_index=True)
    return frame


def _finish_sessions(frame: pd.DataFrame, start: pd.DataFrame) -> pd.DataFrame:
    """Sort, add cumulative exposure (induction + maintenance so far) and fix dtypes."""
    frame = frame.sort_values([ID_COLUMN, "day_after_series", "kind"], kind="stable")
    frame = frame.reset_index(drop=True)
    is_maint = (frame["kind"] == "maintenance").astype(int)
    dose = frame["dose_mg_per_kg"].fillna(0.0)
    mg = frame["esketamine_dose_mg"].fillna(0.0)
    first = start.loc[frame[ID_COLUMN]]
    frame["cumulative_sessions"] = (first["attended"].to_numpy()
                                    + is_maint.groupby(frame[ID_COLUMN]).cumsum().to_numpy())
    frame["cumulative_mg_per_kg"] = (first["induction_mg_per_kg"].to_numpy()
                                     + dose.groupby(frame[ID_COLUMN]).cumsum().to_numpy())
    frame["cumulative_esketamine_mg"] = (first["induction_esketamine_mg"].to_numpy()
                                         + mg.groupby(frame[ID_COLUMN]).cumsum().to_numpy())
    for name in ("week", "day_after_series", "phq9", "craving_score", "moca",
                 "blunting_score", "cumulative_sessions"):
        frame[name] = frame[name].round().astype("Int64")
    frame["urinary_symptoms"] = frame["urinary_symptoms"].map({1.0: True, 0.0: False})
    frame["cumulative_mg_per_kg"] = frame["cumulative_mg_per_kg"].round(4)
    return frame[followup_field_names()]


def generate_followup(patients: pd.DataFrame, sessions: pd.DataFrame,
                      rng: np.random.Generator,
                      s: FollowupSettings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Follow-up for every patient with a completed series: (followup, followup_sessions)."""
    start = end_of_series(patients, sessions)
    ids = patients[ID_COLUMN].astype(str).to_numpy()
    done = (patients["dropout"].to_numpy() == 0)
    followed = patients.loc[done].reset_index(drop=True).copy()
    followed["phq9_end_of_series"] = start["phq9_end_of_series"].to_numpy()[done]
    followed["maintenance_schedule"] = assign_schedules(len(followed), rng, s)
    sim = simulate_followup(followed, rng, s)
    f_start = start.loc[ids[done]]
    screens = draw_screens(followed, sim, f_start["attended"].to_numpy(),
                           f_start["induction_exposure"].to_numpy(), rng, s)
    rows = _finish_sessions(_sessions_rows(ids[done], followed, sim, screens), start)

    out = pd.DataFrame({ID_COLUMN: ids, "series_completed": done})
    out["maintenance_schedule"] = pd.Series(followed["maintenance_schedule"].to_numpy(),
                                            index=np.nonzero(done)[0])
    out["phq9_end_of_series"] = start["phq9_end_of_series"].astype(int).to_numpy()
    out["responder"] = patients["response"].astype(int).to_numpy() == 1
    per = _per_patient(sim, screens, followed, rows)
    for name, values in per.items():
        out[name] = pd.Series(values, index=np.nonzero(done)[0])
    totals = rows.groupby(ID_COLUMN)[["cumulative_sessions", "cumulative_mg_per_kg",
                                      "cumulative_esketamine_mg"]].last()
    out["followup_weeks"] = out["followup_weeks"].fillna(0)
    out["total_sessions"] = totals["cumulative_sessions"].reindex(ids).fillna(
        pd.Series(start["attended"].to_numpy(), index=ids)).to_numpy()
    out["total_mg_per_kg"] = totals["cumulative_mg_per_kg"].reindex(ids).fillna(
        pd.Series(start["induction_mg_per_kg"].to_numpy(), index=ids)).round(4).to_numpy()
    out["total_esketamine_mg"] = totals["cumulative_esketamine_mg"].reindex(ids).fillna(
        pd.Series(start["induction_esketamine_mg"].to_numpy(), index=ids)).round(4).to_numpy()
    return _finish_patients(out), rows


def _per_patient(sim: dict[str, np.ndarray], screens: dict[str, np.ndarray],
                 followed: pd.DataFrame, rows: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per followed patient: weeks followed, relapse/censoring, maintenance, last screens."""
    weeks = sim["last_week"].astype(float)
    responder = sim["responder"]
    maint = (sim["scheduled"].sum(axis=1) + sim["booster"].sum(axis=1)).astype(float)
    last_screen = np.array([sum(w <= lw for w in SCREEN_WEEKS) - 1 for lw in sim["last_week"]])
    rows_idx = np.arange(len(weeks))
    out = {
        "followup_weeks": weeks,
        "lost_to_followup": (sim["last_week"] < FOLLOWUP_WEEKS).astype(float),
        "relapse": np.where(responder, sim["relapse"].astype(float), np.nan),
        "days_to_relapse": np.where(responder, sim["days_to_relapse"], np.nan),
        "relapse_8w": relapse_within_horizon(sim),
        "maintenance_sessions": maint,
        "maintenance_per_week": np.round(maint / np.maximum(weeks, 1), 3),
    }
    for name in SCREENS:
        out[name] = screens[name][rows_idx, last_screen]
    return out


def _finish_patients(out: pd.DataFrame) -> pd.DataFrame:
    """Nullable integer and boolean columns so the CSV shows 3 and true, not 3.0 and 1.0."""
    for name in ("phq9_end_of_series", "followup_weeks", "days_to_relapse",
                 "maintenance_sessions", "total_sessions", "craving_score", "moca",
                 "blunting_score"):
        out[name] = pd.to_numeric(out[name]).round().astype("Int64")
    for name in ("lost_to_followup", "relapse", "relapse_8w", "urinary_symptoms"):
        out[name] = out[name].map({1.0: True, 0.0: False})
    return out[followup_patient_field_names()]


def csv_text(frame: pd.DataFrame) -> str:
    """CSV as the cohort files write it: booleans (nullable too) as true/false, blanks."""
    out = frame.copy()
    for column in out.columns:
        values = out[column].dropna()
        if len(values) and values.map(lambda v: isinstance(v, (bool, np.bool_))).all():
            out[column] = out[column].map({True: "true", False: "false"})
    return out.to_csv(index=False, lineterminator="\n", float_format="%.4g")
