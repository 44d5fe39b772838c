"""Follow-up of the synthetic cohort after the induction series (GitHub issue 8).

Causal structure (per patient with a completed series, weeks w = 1..12 after it):

    maintenance plan (assigned at random) ─┬─▶ relapse hazard (proportional hazards)
    patient features, end-of-series PHQ-9 ─┘          │
                       latent relapse day T ──────────┴─▶ PHQ-9_w rises to a relapse level
    as-needed plan: PHQ-9_w worse ─▶ booster session ─▶ (sometimes) T pushed back
    maintenance sessions ─▶ cumulative exposure ─▶ long-term screens (followup_records)

Relapse is then *observed* the way a clinic sees it: a responder's PHQ-9 back above 50 % of
baseline on two consecutive weekly follow-ups. The same simulation runs once for the
recorded cohort and many times per patient for the oracle relapse probability.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from models.contract.followup_schema import (
    FOLLOWUP_WEEKS,
    MAINTENANCE_SCHEDULES,
    RELAPSE_ABOVE,
    RELAPSE_HORIZON_WEEKS,
)

log = logging.getLogger(__name__)

ORACLE_REPLICATES = 400
_CHUNK_ROWS = 100_000


@dataclass(frozen=True)
class FollowupSettings:
    """Effect sizes of the follow-up stage. Log hazard ratios unless stated."""

    # --- maintenance plan: assigned at random, like a trial arm ----------------------
    schedule_shares: dict[str, float] = field(default_factory=lambda: {
        "none": 0.30, "weekly": 0.25, "every_two_weeks": 0.25, "as_needed": 0.20,
    })  # *unsourced*: real clinics choose by patient; random keeps the arms comparable
    # --- relapse timing (days after the last induction session) -------------------------
    relapse_scale_days: float = 19.0  # tuned: observed median ~18 d, none (Murrough 2013)
    relapse_shape: float = 0.6  # *unsourced*: falling hazard, so some responders hold long
    maintenance_hr: dict[str, float] = field(default_factory=lambda: {
        "none": 1.0, "weekly": 0.40, "every_two_weeks": 0.62, "as_needed": 1.0,
    })  # latent HRs; weekly tuned so the *observed* Cox HR vs none is ~0.49 (SUSTAIN-1,
    # Phillips 2019), since visit noise dilutes it; every two weeks *unsourced*
    as_needed_rescue: float = 0.3  # *unsourced*: chance a booster restores the response
    as_needed_rise_points: int = 5  # booster when PHQ-9 >= end of series + 5 (*unsourced*)
    residual_per_fraction: float = 2.0  # per unit of end/baseline PHQ-9; *unsourced* size
    anxious_depression: float = -0.3  # longer benefit (Ionescu 2014); size *unsourced*
    psychotherapy: dict[str, float] = field(default_factory=lambda: {
        "none": 0.3, "supportive": 0.0, "integrated": -0.3,
    })  # *unsourced*: integration consolidates gains (seed article)
    support: dict[str, float] = field(default_factory=lambda: {
        "weak": 0.3, "moderate": 0.0, "strong": -0.2,
    })  # *unsourced* (seed article: a support network matters)
    failed_trial_per_trial: float = 0.08  # *unsourced*
    past_attempt: float = 0.2  # *unsourced*
    benzo_per_mg_above_8: float = 0.03  # *unsourced* (Andrashko 2020 is about response)
    frailty_sd: float = 0.5  # unexplained between-patient variation
    # --- what a relapse looks like -----------------------------------------------------
    relapse_level: tuple[float, float] = (0.65, 1.0)  # PHQ-9 / baseline after relapse
    relapse_ramp_days: float = 7.0  # *unsourced*: symptoms return over about a week
    phq9_noise_sd: float = 1.8  # as in the induction series
    visit_jitter_days: int = 1  # follow-up visits on day 7w +- 1
    weekly_loss: float = 0.01  # *unsourced*: chance per week of leaving follow-up
    # --- long-term screens (all *unsourced*: §3 names the risks, not their sizes) ----
    craving_intercept: float = 0.4
    craving_substance: dict[str, float] = field(default_factory=lambda: {
        "none": 0.0, "remission": 1.2, "active": 2.0})
    craving_per_session: float = 0.06  # per cumulative session
    craving_per_weekly_rate: float = 0.8  # per maintenance session/week, last 4 weeks
    craving_sd: float = 0.8
    moca_mean: float = 28.0
    moca_per_year_over_50: float = -0.05
    moca_per_mg_per_kg: float = -0.06  # cumulative dose
    moca_patient_sd: float = 1.0
    moca_visit_sd: float = 0.6
    blunting_intercept: float = 1.5
    blunting_per_session: float = 0.07
    blunting_benzo: float = 0.6
    blunting_sd: float = 1.0
    urinary_intercept: float = -5.5
    urinary_per_mg_per_kg: float = 0.12  # frequent, high-dose use (§3)
    urinary_per_weekly_rate: float = 0.8

    def to_dict(self) -> dict[str, object]:
        """Plain dict for model cards and docs."""
        return asdict(self)


def _lookup(mapping: dict[str, float], values: np.ndarray) -> np.ndarray:
    return np.array([mapping[v] for v in values], dtype=float)


def assign_schedules(n: int, rng: np.random.Generator, s: FollowupSettings) -> np.ndarray:
    """Random maintenance plans in the shares of ``schedule_shares``."""
    shares = np.array([s.schedule_shares[k] for k in MAINTENANCE_SCHEDULES], dtype=float)
    return rng.choice(np.array(MAINTENANCE_SCHEDULES, dtype=object), size=n,
                      p=shares / shares.sum())


def relapse_log_hazard(p: pd.DataFrame, s: FollowupSettings) -> np.ndarray:
    """Linear predictor of the relapse hazard from features, end PHQ-9 and the plan."""
    baseline = np.maximum(p["phq9_baseline"].to_numpy(dtype=float), 1.0)
    end_fraction = np.clip(p["phq9_end_of_series"].to_numpy(dtype=float) / baseline, 0, 1)
    return (
        s.residual_per_fraction * (end_fraction - 0.25)
        + s.anxious_depression * p["anxious_depression"].to_numpy(dtype=float)
        + _lookup(s.psychotherapy, p["psychotherapy"].to_numpy())
        + _lookup(s.support, p["support_system"].to_numpy())
        + s.failed_trial_per_trial * (p["failed_ad_trials"].to_numpy(dtype=float) - 2.0)
        + s.past_attempt * p["past_suicide_attempt"].to_numpy(dtype=float)
        + s.benzo_per_mg_above_8 * np.maximum(p["benzo_dose_mg"].to_numpy(dtype=float) - 8, 0)
        + np.log(_lookup(s.maintenance_hr, p["maintenance_schedule"].to_numpy()))
    )


def _relapse_day(lp: np.ndarray, rng: np.random.Generator, s: FollowupSettings) -> np.ndarray:
    """Weibull proportional-hazards draw: S(t) = exp(-(t / scale)^shape * e^lp)."""
    e = rng.exponential(1.0, len(lp))
    return s.relapse_scale_days * (e * np.exp(-lp)) ** (1.0 / s.relapse_shape)


def simulate_followup(p: pd.DataFrame, rng: np.random.Generator, s: FollowupSettings,
                      with_loss: bool = True,
                      weeks: int = FOLLOWUP_WEEKS) -> dict[str, np.ndarray]:
    """Simulate weekly follow-up for patients with a completed series.

    ``p`` holds patient features plus ``phq9_end_of_series`` and ``maintenance_schedule``.
    Arrays are (patients, weeks + 1); column 0 is the end of the series (day 0).
    """
    n = len(p)
    w = np.arange(weeks + 1)
    baseline = p["phq9_baseline"].to_numpy(dtype=float)
    end = p["phq9_end_of_series"].to_numpy(dtype=float)
    schedule = p["maintenance_schedule"].to_numpy()
    responder = end <= baseline * RELAPSE_ABOVE
    as_needed = schedule == "as_needed"

    lp = relapse_log_hazard(p, s) + rng.normal(0, s.frailty_sd, n)
    relapse_at = _relapse_day(lp, rng, s)
    level = np.maximum(end, baseline * rng.uniform(*s.relapse_level, n))
    jitter = rng.integers(-s.visit_jitter_days, s.visit_jitter_days + 1, (n, weeks + 1))
    day = (7 * w[None, :] + np.where(w > 0, jitter, 0)).astype(float)
    if with_loss:
        leaves = rng.random((n, weeks + 1)) < s.weekly_loss
        leaves[:, 0] = False
        last_week = np.where(leaves.any(axis=1), leaves.argmax(axis=1) - 1, weeks)
    else:
        last_week = np.full(n, weeks)
    observed = w[None, :] <= last_week[:, None]

    phq9 = np.zeros((n, weeks + 1))
    phq9[:, 0] = end
    booster = np.zeros((n, weeks + 1), dtype=bool)
    booster_day = np.full((n, weeks + 1), np.nan)
    for k in range(1, weeks + 1):
        progress = np.clip((day[:, k] - relapse_at) / s.relapse_ramp_days, 0.0, 1.0)
        mean = end + (level - end) * progress
        phq9[:, k] = np.clip(np.round(mean + rng.normal(0, s.phq9_noise_sd, n)), 0, 27)
        worse = ((responder & (phq9[:, k] > baseline * RELAPSE_ABOVE))
                 | (phq9[:, k] >= end + s.as_needed_rise_points))
        given = as_needed & worse & observed[:, k] & (k < weeks)
        when = day[:, k] + rng.integers(1, 4, n)
        rescued = given & (rng.random(n) < s.as_needed_rescue)
        redraw = when + _relapse_day(lp, rng, s)
        relapse_at = np.where(rescued, np.maximum(relapse_at, redraw), relapse_at)
        booster[:, k] = given
        booster_day[:, k] = np.where(given, when, np.nan)

    scheduled = observed & (w[None, :] > 0) & (
        (schedule == "weekly")[:, None]
        | ((schedule == "every_two_weeks")[:, None] & (w[None, :] % 2 == 0)))
    out = {"day": day, "phq9": phq9, "observed": observed, "last_week": last_week,
           "scheduled": scheduled, "booster": booster, "booster_day": booster_day,
           "responder": responder}
    out.update(detect_relapse(phq9, observed, baseline, responder, day))
    return out


def detect_relapse(phq9: np.ndarray, observed: np.ndarray, baseline: np.ndarray,
                   responder: np.ndarray, day: np.ndarray) -> dict[str, np.ndarray]:
    """Relapse as a clinic sees it: two consecutive follow-ups above 50 % of baseline.

    Returns ``relapse`` (responders only), ``relapse_week`` (first of the two visits, 0 if
    none) and ``days_to_relapse`` (that visit's day, else the last observed visit's day).
    """
    above = (phq9 > baseline[:, None] * RELAPSE_ABOVE) & observed
    above[:, 0] = False
    pair = above[:, :-1] & above[:, 1:]
    relapse = pair.any(axis=1) & responder
    first = np.where(relapse, pair.argmax(axis=1), 0)
    last = observed.sum(axis=1) - 1
    rows = np.arange(len(phq9))
    days = np.where(relapse, day[rows, first], day[rows, last])
    return {"relapse": relapse, "relapse_week": first, "days_to_relapse": days}


def relapse_within_horizon(sim: dict[str, np.ndarray],
                           horizon_weeks: int = RELAPSE_HORIZON_WEEKS) -> np.ndarray:
    """1/0 relapse within the horizon; NaN where unknown (non-responder or lost early)."""
    hit = sim["relapse"] & (sim["relapse_week"] <= horizon_weeks)
    known = sim["responder"] & (hit | (sim["last_week"] > horizon_weeks))
    return np.where(known, hit.astype(float), np.nan)


def oracle_relapse(p: pd.DataFrame, s: FollowupSettings, rng: np.random.Generator,
                   replicates: int = ORACLE_REPLICATES) -> np.ndarray:
    """True probability of relapse within 8 weeks given what the relapse model sees.

    Features, end-of-series PHQ-9 and plan are held fixed; relapse timing, frailty, visit
    noise and boosters are redrawn (no loss to follow-up). NaN for non-responders.
    """
    total = np.zeros(len(p))
    if len(p) == 0:
        return total
    per_chunk = max(1, _CHUNK_ROWS // len(p))
    done = 0
    while done < replicates:
        reps = min(per_chunk, replicates - done)
        tiled = p.iloc[np.tile(np.arange(len(p)), reps)].reset_index(drop=True)
        sim = simulate_followup(tiled, rng, s, with_loss=False,
                                weeks=RELAPSE_HORIZON_WEEKS + 1)
        hit = relapse_within_horizon(sim)
        total += np.nan_to_num(hit).reshape(reps, len(p)).sum(axis=0)
        done += reps
    responder = (p["phq9_end_of_series"].to_numpy(dtype=float)
                 <= p["phq9_baseline"].to_numpy(dtype=float) * RELAPSE_ABOVE)
    return np.where(responder, total / replicates, np.nan)
