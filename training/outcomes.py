"""Outcomes derived from session records, exactly as `clinical-reference.md` defines them.

One array-level core serves both the recorded cohort (from `sessions.csv`) and the
generator's Monte-Carlo oracle, so the two can never disagree on a definition.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.contract.schema import (
    CADSS_SIGNIFICANT,
    POST_DOSE_DBP_ALERT,
    POST_DOSE_SBP_ALERT,
    REMISSION_BELOW,
    RESPONSE_DROP,
    SBP_RISE_ALERT,
    outcome_names,
)


def hypertensive_event(sbp_pre, sbp_post, dbp_post) -> np.ndarray:
    """Post-dose systolic ≥ 180 or diastolic ≥ 110 mmHg, or a systolic rise > 40 mmHg."""
    sbp_pre, sbp_post, dbp_post = (np.asarray(a, dtype=float) for a in (sbp_pre, sbp_post,
                                                                         dbp_post))
    return ((sbp_post >= POST_DOSE_SBP_ALERT) | (dbp_post >= POST_DOSE_DBP_ALERT)
            | (sbp_post - sbp_pre > SBP_RISE_ALERT))


def outcomes_from_summaries(
    phq9_baseline, last_phq9, max_cadss, any_nausea_vomiting, any_bp_event, attended, planned,
) -> dict[str, np.ndarray]:
    """The six outcomes (0/1 arrays) from per-patient series summaries."""
    baseline = np.asarray(phq9_baseline, dtype=float)
    last = np.asarray(last_phq9, dtype=float)
    return {
        "response": (last <= baseline * (1 - RESPONSE_DROP)).astype(int),
        "remission": (last < REMISSION_BELOW).astype(int),
        "significant_dissociation": (np.asarray(max_cadss) >= CADSS_SIGNIFICANT).astype(int),
        "nausea_vomiting": np.asarray(any_nausea_vomiting, dtype=bool).astype(int),
        "hypertensive_reaction": np.asarray(any_bp_event, dtype=bool).astype(int),
        "dropout": (np.asarray(attended) < np.asarray(planned)).astype(int),
    }


def derive_outcomes(patients: pd.DataFrame, sessions: pd.DataFrame) -> pd.DataFrame:
    """Outcomes per patient (index ``patient_id``) from their recorded sessions.

    The series ends at the last attended session; a patient with no session at all counts
    as a dropout without response or side effects.
    """
    ordered = sessions.sort_values(["patient_id", "session_number"])
    events = ordered.assign(
        nv=ordered["nausea"].astype(bool) | ordered["vomiting"].astype(bool),
        bp=hypertensive_event(ordered["sbp_pre"], ordered["sbp_post"], ordered["dbp_post"]),
    )
    summary = events.groupby("patient_id", sort=False).agg(
        last_phq9=("phq9", "last"), max_cadss=("cadss", "max"), nv=("nv", "any"),
        bp=("bp", "any"), attended=("session_number", "count"),
    )
    base = patients.set_index("patient_id")
    summary = summary.reindex(base.index)
    no_sessions = summary["attended"].isna()
    summary.loc[no_sessions, ["max_cadss", "attended"]] = 0
    summary.loc[no_sessions, ["nv", "bp"]] = False
    summary.loc[no_sessions, "last_phq9"] = base.loc[no_sessions, "phq9_baseline"]
    outcomes = outcomes_from_summaries(
        base["phq9_baseline"], summary["last_phq9"], summary["max_cadss"],
        summary["nv"].astype(bool), summary["bp"].astype(bool), summary["attended"],
        base["planned_sessions"],
    )
    frame = pd.DataFrame(outcomes, index=base.index)[outcome_names()]
    frame["sessions_attended"] = summary["attended"].astype(int)
    return frame
