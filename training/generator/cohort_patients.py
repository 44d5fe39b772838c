"""Baseline patient draws of the synthetic cohort (the exogenous part of the causal model).

Prevalences are plausible for a KAP clinic's referrals and marked *unsourced* where the
reference gives none; exclusion conditions are generated but rare, so the screen has
something to catch.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.contract.schema import DIAGNOSES, ROUTES
from training.generator.dosing import draw_doses

_FIRST = (
    "Alex", "Sam", "Jordan", "Taylor", "Morgan", "Casey", "Riley", "Jamie", "Avery", "Quinn",
    "Robin", "Drew", "Kai", "Reese", "Rowan", "Sage", "Emery", "Hayden", "Parker", "Skyler",
)
_LAST = (
    "Rivera", "Okafor", "Lindqvist", "Nakamura", "Moreau", "Kowalski", "Haddad", "Fischer",
    "Osei", "Brennan", "Castillo", "Varga", "Iyer", "Novak", "Santos", "Keller", "Dubois",
    "Mensah", "Larsen", "Petrov",
)


def _choice(rng: np.random.Generator, options: tuple[str, ...], probs, n: int) -> np.ndarray:
    return rng.choice(np.array(options, dtype=object), size=n, p=np.asarray(probs))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


# Column order of the drawn frame (the sample files depend on it).
PATIENT_COLUMNS = (
    "age", "sex", "bmi", "primary_diagnosis", "dx_trd", "dx_chronic_anxiety", "dx_ptsd",
    "dx_suicidality", "dx_chronic_pain", "anxious_depression", "phq9_baseline",
    "gad7_baseline", "pcl5_baseline", "cssrs_baseline", "failed_ad_trials", "prior_ect",
    "past_suicide_attempt", "family_history_aud", "substance_use", "psychosis_history",
    "ace_score", "systolic_bp", "diastolic_bp", "heart_rate", "hypertension", "heart_disease",
    "liver_disease", "vascular_contraindication", "raised_icp", "pregnant", "maoi",
    "stimulant", "opioid", "support_system", "benzo_dose_mg", "route", "dose_mg_per_kg",
    "esketamine_dose_mg",
    "psychotherapy", "sessions_per_week", "planned_sessions",
)


def draw_patients(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Draw ``n`` baseline patients: demographics, history, vitals and the planned series.

    The parts draw from ``rng`` in a fixed order (the sample data depend on it).
    """
    values = _history(n, rng)
    values.update(_vitals(n, rng, values))
    values.update(_dosing(n, rng, values))
    values.update(_rare_and_plan(n, rng, values))
    return pd.DataFrame({name: values[name] for name in PATIENT_COLUMNS})


def _history(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Demographics, diagnoses, baseline scales and psychiatric history."""
    age = np.clip(np.round(rng.normal(43, 13, n)), 18, 85).astype(int)
    sex = _choice(rng, ("female", "male"), (0.6, 0.4), n)
    bmi = np.round(np.clip(np.exp(rng.normal(np.log(27.0), 0.19, n)), 16, 55), 1)

    primary = _choice(rng, DIAGNOSES, (0.6, 0.1, 0.15, 0.08, 0.07), n)
    failed = rng.poisson(1.0, n) + np.where(primary == "trd", 2 + rng.poisson(0.6, n), 0)
    failed = np.clip(failed, 0, 12)
    dx_trd = (primary == "trd") | ((failed >= 2) & (rng.random(n) < 0.5))
    dx_anx = (primary == "chronic_anxiety") | (rng.random(n) < 0.3)
    dx_ptsd = (primary == "ptsd") | (rng.random(n) < 0.12)
    dx_suic = (primary == "suicidality") | (rng.random(n) < 0.12)
    dx_pain = (primary == "chronic_pain") | (rng.random(n) < 0.1)
    anxious_dep = rng.random(n) < 0.25 + 0.35 * dx_anx

    phq9_mean = np.where(dx_trd, 18.5, 15.0) + 1.5 * dx_suic
    phq9 = np.clip(np.round(rng.normal(phq9_mean, 3.8)), 8, 27).astype(int)
    gad7 = np.clip(np.round(rng.normal(8 + 4 * anxious_dep + 3 * dx_anx, 3.5)), 0, 21)
    pcl5 = np.clip(np.round(rng.normal(np.where(dx_ptsd, 50, 20), 11)), 0, 80)
    cssrs = np.clip(np.round(np.where(dx_suic, rng.normal(3.2, 0.9, n),
                                       rng.exponential(0.6, n))), 0, 5)
    attempt = rng.random(n) < 0.12 + 0.25 * dx_suic
    ect = rng.random(n) < 0.05 + 0.05 * (failed > 3)
    family_aud = rng.random(n) < 0.25
    substance = _choice(rng, ("none", "remission", "active"), (0.81, 0.165, 0.025), n)
    psychosis = rng.random(n) < 0.012
    ace = np.clip(rng.poisson(1.8 + 1.6 * dx_ptsd), 0, 10)
    return {
        "age": age, "sex": sex, "bmi": bmi, "primary_diagnosis": primary,
        "dx_trd": dx_trd, "dx_chronic_anxiety": dx_anx, "dx_ptsd": dx_ptsd,
        "dx_suicidality": dx_suic, "dx_chronic_pain": dx_pain,
        "anxious_depression": anxious_dep, "phq9_baseline": phq9,
        "gad7_baseline": gad7.astype(int), "pcl5_baseline": pcl5.astype(int),
        "cssrs_baseline": cssrs.astype(int), "failed_ad_trials": failed.astype(int),
        "prior_ect": ect, "past_suicide_attempt": attempt, "family_history_aud": family_aud,
        "substance_use": substance, "psychosis_history": psychosis, "ace_score": ace.astype(int),
    }


def _vitals(n: int, rng: np.random.Generator, v: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Blood pressure, heart rate, cardiovascular and liver disease, pregnancy."""
    age, bmi = v["age"], v["bmi"]
    htn_any = rng.random(n) < _sigmoid(-2.2 + 0.06 * (age - 45) + 0.08 * (bmi - 27))
    htn_unc = htn_any & (rng.random(n) < 0.12)
    hypertension = np.where(htn_unc, "uncontrolled", np.where(htn_any, "controlled", "none"))
    sbp = (116 + 0.35 * (age - 45) + 0.6 * (bmi - 27) + 8 * (hypertension == "controlled")
           + 32 * htn_unc + rng.normal(0, 9, n))
    sbp = np.clip(np.round(sbp), 85, 215).astype(int)
    dbp = np.clip(np.round(0.5 * sbp + 15 + rng.normal(0, 6, n)), 45, 135).astype(int)
    dbp = np.minimum(dbp, sbp - 20)
    heart_rate = np.clip(np.round(rng.normal(74, 10, n)), 45, 130).astype(int)
    heart = np.where(rng.random(n) < 0.008, "severe",
                     np.where(rng.random(n) < 0.03 + 0.002 * (age - 18), "stable", "none"))
    liver = _choice(rng, ("none", "mild", "severe"), (0.95, 0.045, 0.005), n)
    pregnant = (v["sex"] == "female") & (age < 45) & (rng.random(n) < 0.008)
    return {"systolic_bp": sbp, "diastolic_bp": dbp, "heart_rate": heart_rate,
            "hypertension": hypertension, "heart_disease": heart, "liver_disease": liver,
            "pregnant": pregnant}


def _dosing(n: int, rng: np.random.Generator, v: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Benzodiazepine dose, route and the dose in the route's unit (``dosing.draw_doses``)."""
    benzo_use = rng.random(n) < 0.28 + 0.2 * v["dx_chronic_anxiety"]
    benzo = np.where(benzo_use, np.clip(np.exp(rng.normal(np.log(6), 0.7, n)), 1, 60), 0.0)
    benzo = np.round(benzo * 2) / 2

    route = _choice(rng, ROUTES, (0.55, 0.1, 0.2, 0.15), n)
    return {"benzo_dose_mg": benzo, "route": route, **draw_doses(route, rng)}


def _rare_and_plan(n: int, rng: np.random.Generator,
                   v: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Rare contraindications, co-medication, support, psychotherapy and the planned series."""
    return {
        "vascular_contraindication": rng.random(n) < 0.004,
        "raised_icp": rng.random(n) < 0.002,
        "maoi": rng.random(n) < 0.02, "stimulant": rng.random(n) < 0.06,
        "opioid": rng.random(n) < 0.04 + 0.25 * v["dx_chronic_pain"],
        "support_system": _choice(rng, ("weak", "moderate", "strong"), (0.2, 0.45, 0.35), n),
        "psychotherapy": _choice(rng, ("none", "supportive", "integrated"),
                                 (0.15, 0.35, 0.5), n),
        "sessions_per_week": _choice(rng, ("1", "2", "3"), (0.3, 0.55, 0.15), n).astype(int),
        "planned_sessions": _choice(rng, ("4", "6", "8", "10", "12"),
                                    (0.1, 0.6, 0.2, 0.07, 0.03), n).astype(int),
    }


def draw_names(n: int, rng: np.random.Generator) -> np.ndarray:
    """Synthetic 'Last, First' names (clearly not real people; the store marks them)."""
    first = rng.choice(np.array(_FIRST, dtype=object), size=n)
    last = rng.choice(np.array(_LAST, dtype=object), size=n)
    return np.array([f"{a}, {b}" for a, b in zip(last, first, strict=True)], dtype=object)


def shift_population(features: pd.DataFrame, population, rng: np.random.Generator
                     ) -> pd.DataFrame:
    """Apply a ``training.generator.settings.PopulationSettings`` to drawn patients."""
    out = features.copy()
    n = len(out)
    out["age"] = np.clip(np.round(out["age"] + population.age_shift), 18, 90).astype(int)
    out["systolic_bp"] = np.clip(np.round(out["systolic_bp"] + population.bp_shift),
                                 85, 215).astype(int)
    out["diastolic_bp"] = np.minimum(np.clip(np.round(
        out["diastolic_bp"] + population.bp_shift / 2), 45, 135),
        out["systolic_bp"] - 20).astype(int)
    if population.route_mix is not None:
        route = _choice(rng, ROUTES, population.route_mix, n)
        out["route"] = route
        for name, values in draw_doses(route, rng).items():
            out[name] = values
    return out
