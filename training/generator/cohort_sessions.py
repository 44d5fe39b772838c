"""The induction series of the synthetic cohort: session by session, vectorised over patients.

Causal structure (per patient, then per session k = 1..planned):

    patient features ─┬─▶ latent maximal improvement I (logit-linear + patient noise)
                      ├─▶ dissociation propensity ─▶ CADSS_k ─▶ BP rise_k
                      │            └──(IV/IM only)──▶ I
                      ├─▶ nausea/vomiting_k, BP rise_k (age, hypertension, dose, route)
    I, time ─────────▶ PHQ-9_k = baseline · (1 − I · (1 − e^(−k/τ))) + noise
    PHQ-9_k, side effects_k, support, substance use, psychotherapy ─▶ stop after k?

The same function runs once for the recorded cohort and many times per patient for the
oracle (true outcome probabilities), with fresh latent and session noise each time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.contract.schema import SESSION_FIELDS
from training.generator.dosing import relative_dose as dose_relative
from training.generator.settings import EffectSettings
from training.outcomes import hypertensive_event, outcomes_from_summaries


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _lookup(mapping: dict[str, float], values: np.ndarray) -> np.ndarray:
    return np.array([mapping[v] for v in values], dtype=float)


def improvement_logit(p: pd.DataFrame, s: EffectSettings) -> np.ndarray:
    """Linear predictor of a patient's latent maximal improvement (before patient noise)."""
    route = p["route"].to_numpy()
    relative_dose = dose_relative(p)
    esketamine_old = (route == "intranasal_esketamine") & (p["age"].to_numpy() >= 65)
    return (
        s.improvement_intercept
        + s.bmi_per_unit * (p["bmi"].to_numpy() - 27.0)
        + s.family_aud * p["family_history_aud"].to_numpy()
        + s.past_attempt * p["past_suicide_attempt"].to_numpy()
        + s.benzo_per_mg_above_8 * np.maximum(p["benzo_dose_mg"].to_numpy() - 8.0, 0.0)
        + s.anxious_depression * p["anxious_depression"].to_numpy()
        + s.ace_per_point * (p["ace_score"].to_numpy() - 2.0)
        + s.failed_trial_per_trial * (p["failed_ad_trials"].to_numpy() - 2.0)
        + s.esketamine_age65 * esketamine_old
        + _lookup(s.psychotherapy, p["psychotherapy"].to_numpy())
        + _lookup(s.support, p["support_system"].to_numpy())
        + _lookup(s.route, route)
        + s.dose_per_relative_unit * (relative_dose - 1.0)
    )


def simulate_series(p: pd.DataFrame, rng: np.random.Generator, s: EffectSettings,
                    keep_sessions: bool = True) -> dict[str, np.ndarray]:
    """Simulate every patient's series; arrays are (patients, max planned sessions).

    The steps draw from ``rng`` in a fixed order (the sample data depend on it).
    """
    n = len(p)
    k_max = int(p["planned_sessions"].max())
    k = np.arange(1, k_max + 1)[None, :]
    route = p["route"].to_numpy()
    relative_dose = dose_relative(p)[:, None]
    baseline = p["phq9_baseline"].to_numpy(dtype=float)[:, None]
    planned = p["planned_sessions"].to_numpy()

    phq9, fraction, cadss = _mood_and_dissociation(p, rng, s, k, route, relative_dose, baseline)
    nausea, vomiting = _nausea(p, rng, s, route, relative_dose, k_max)
    sbp_pre, dbp_pre, sbp_post, dbp_post, rise = _blood_pressure(p, rng, s, route,
                                                                 relative_dose, cadss)
    bp_event = hypertensive_event(sbp_pre, sbp_post, dbp_post)
    attended = _attendance(p, rng, s, k, planned, baseline, phq9, cadss, nausea, vomiting,
                           bp_event)
    mask = k <= attended[:, None]

    rows = np.arange(n)
    out = outcomes_from_summaries(
        baseline[:, 0], phq9[rows, attended - 1], np.where(mask, cadss, 0).max(axis=1),
        ((nausea | vomiting) & mask).any(axis=1), (bp_event & mask).any(axis=1),
        attended, planned,
    )
    out["attended"] = attended
    if keep_sessions:
        out.update(_session_details(p, rng, k, phq9, fraction, cadss, nausea, vomiting,
                                    sbp_pre, dbp_pre, sbp_post, dbp_post, rise, relative_dose))
        out.update({"mask": mask, "phq9": phq9, "cadss": cadss, "nausea": nausea,
                    "vomiting": vomiting, "sbp_pre": sbp_pre, "dbp_pre": dbp_pre,
                    "sbp_post": sbp_post, "dbp_post": dbp_post, "stopped_after": attended})
    return out


def _mood_and_dissociation(p, rng, s, k, route, relative_dose, baseline):
    """PHQ-9 per session (improvement fraction over sessions) and CADSS per session."""
    n, k_max = len(p), k.shape[1]
    z_dissociation = rng.normal(0, 1, (n, 1))
    dissociative_route = np.isin(route, ("iv", "im"))[:, None]
    eta = (improvement_logit(p, s)[:, None] + rng.normal(0, s.improvement_sd, (n, 1))
           + s.dissociation_benefit * z_dissociation * dissociative_route)
    fraction = _sigmoid(eta) * (1 - np.exp(-k / s.improvement_time_constant))
    phq9 = np.clip(np.round(baseline * (1 - fraction) + rng.normal(0, 1.8, (n, k_max))), 0, 27)

    log_cadss = (s.cadss_log_mean + s.cadss_log_sd * z_dissociation
                 + s.cadss_dose_per_relative_unit * (relative_dose - 1)
                 + _lookup(s.cadss_route, route)[:, None]
                 + s.cadss_tolerance_per_session * (k - 1) + rng.normal(0, 0.4, (n, k_max)))
    cadss = np.clip(np.round(np.exp(log_cadss) - 1), 0, 92)
    return phq9, fraction, cadss


def _nausea(p, rng, s, route, relative_dose, k_max):
    """Nausea and vomiting per session (a patient-level propensity plus dose and route)."""
    n = len(p)
    nausea_logit = (s.nausea_intercept + s.nausea_female * (p["sex"].to_numpy() == "female")
                    + _lookup(s.nausea_route, route) + s.nausea_opioid * p["opioid"].to_numpy()
                    )[:, None] + s.nausea_dose_per_relative_unit * (relative_dose - 1)
    nausea_logit = nausea_logit + rng.normal(0, 0.9, (n, 1))
    nausea = rng.random((n, k_max)) < _sigmoid(nausea_logit)
    vomiting = nausea & (rng.random((n, k_max)) < s.vomiting_given_nausea)
    return nausea, vomiting


def _blood_pressure(p, rng, s, route, relative_dose, cadss):
    """Blood pressure before and ~40 min after dosing, and the systolic rise."""
    n, k_max = cadss.shape
    sbp_pre = np.round(p["systolic_bp"].to_numpy()[:, None] + rng.normal(0, 7, (n, k_max)))
    dbp_pre = np.round(p["diastolic_bp"].to_numpy()[:, None] + rng.normal(0, 5, (n, k_max)))
    rise = (_lookup(s.sbp_rise_route_factor, route)[:, None]
            * (s.sbp_rise_mean + s.sbp_rise_per_year_over_45 * (p["age"].to_numpy()[:, None] - 45)
               + _lookup(s.sbp_rise_hypertension, p["hypertension"].to_numpy())[:, None]
               + s.sbp_rise_dose_per_relative_unit * (relative_dose - 1))
            + s.sbp_rise_per_cadss_point * (cadss - 6)
            + rng.normal(0, s.patient_bp_reactivity_sd, (n, 1))
            + rng.normal(0, s.sbp_rise_sd, (n, k_max)))
    sbp_post = np.clip(np.round(sbp_pre + rise), 70, 250)
    dbp_post = np.clip(np.round(dbp_pre + 0.6 * rise + rng.normal(0, 4, (n, k_max))), 35, 150)
    # Pulse pressure stays physiological: diastolic at least 15 mmHg below systolic; every
    # value within what a session record accepts (a low baseline plus noise gave a systolic
    # 59 and a diastolic 29 at 100,000 patients, which the validator then refused).
    sbp_pre = _within("sbp_pre", sbp_pre)
    dbp_pre = _within("dbp_pre", np.minimum(dbp_pre, sbp_pre - 15))
    dbp_post = _within("dbp_post", np.minimum(dbp_post, sbp_post - 15))
    return sbp_pre, dbp_pre, _within("sbp_post", sbp_post), dbp_post, rise


def _within(name: str, values: np.ndarray) -> np.ndarray:
    """``values`` clipped to the session field's allowed range (models.contract.schema)."""
    field = next(f for f in SESSION_FIELDS if f.name == name)
    return np.clip(values, field.min, field.max)


def _attendance(p, rng, s, k, planned, baseline, phq9, cadss, nausea, vomiting, bp_event):
    """Sessions attended: dropout hazards from support, substance use and side effects."""
    n, k_max = phq9.shape
    improvement = (baseline - phq9) / np.maximum(baseline, 1)
    drop_logit = ((s.dropout_intercept + _lookup(s.dropout_support, p["support_system"].to_numpy())
                   + _lookup(s.dropout_substance, p["substance_use"].to_numpy())
                   + _lookup(s.dropout_psychotherapy, p["psychotherapy"].to_numpy()))[:, None]
                  + rng.normal(0, s.dropout_patient_sd, (n, 1))
                  + s.dropout_first_session * (k == 1) + s.dropout_nausea * nausea
                  + s.dropout_vomiting * vomiting + s.dropout_bp_event * bp_event
                  + s.dropout_cadss_per_point_over_20 * np.maximum(cadss - 20, 0)
                  + s.dropout_per_improvement * improvement)
    stops = (rng.random((n, k_max)) < _sigmoid(drop_logit)) & (k < planned[:, None])
    first_stop = np.where(stops.any(axis=1), stops.argmax(axis=1) + 1, k_max + 1)
    return np.minimum(first_stop, planned)


def _session_details(p, rng, k, phq9, fraction, cadss, nausea, vomiting, sbp_pre, dbp_pre,
                     sbp_post, dbp_post, rise, relative_dose) -> dict[str, np.ndarray]:
    """Secondary session measures that no outcome depends on (scales, HR, minor effects)."""
    n, k_max = phq9.shape
    shape = (n, k_max)
    cssrs = np.clip(np.round(p["cssrs_baseline"].to_numpy()[:, None] * (1 - fraction)
                             + rng.normal(0, 0.5, shape)), 0, 5)
    item9 = np.clip(np.round(0.6 * cssrs + rng.normal(0, 0.4, shape)), 0, 3)
    gad7 = np.clip(np.round(p["gad7_baseline"].to_numpy()[:, None] * (1 - 0.8 * fraction)
                            + rng.normal(0, 1.5, shape)), 0, 21)
    pcl5 = np.clip(np.round(p["pcl5_baseline"].to_numpy()[:, None] * (1 - 0.7 * fraction)
                            + rng.normal(0, 4, shape)), 0, 80)
    hr_pre = np.round(p["heart_rate"].to_numpy()[:, None] + rng.normal(0, 6, shape))
    hr_post = np.clip(np.round(hr_pre + 6 + 0.2 * rise + rng.normal(0, 5, shape)), 35, 190)
    benzo = (p["benzo_dose_mg"].to_numpy() > 0)[:, None]
    sedation = rng.random(shape) < _sigmoid(-1.3 + 0.8 * benzo + 0.6 * (relative_dose - 1))
    headache = rng.random(shape) < 0.12
    dizziness = rng.random(shape) < _sigmoid(-1.6 + 0.7 * (relative_dose - 1))
    minutes = 60 + 1.5 * cadss + 25 * sedation + 15 * vomiting + rng.normal(0, 12, shape)
    minutes = np.clip(np.round(minutes / 5) * 5, 30, 480)
    spacing = 7.0 / p["sessions_per_week"].to_numpy()[:, None]
    day = np.round((k - 1) * spacing + (k > 1) * rng.integers(0, 2, shape))
    return {"cssrs": cssrs, "phq9_item9": item9, "gad7": gad7, "pcl5": pcl5,
            "hr_pre": np.clip(hr_pre, 35, 190), "hr_post": hr_post, "sedation": sedation,
            "headache": headache, "dizziness": dizziness, "minutes_to_discharge": minutes,
            "day": day}
