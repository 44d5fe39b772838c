"""Follow-up of the synthetic cohort: durability matches the reference, records are consistent,
and exposure and screen alerts fire on their thresholds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter, KaplanMeierFitter

from models.clinical.followup_alerts import FollowupThresholds, followup_alerts
from models.contract.followup_schema import (
    FOLLOWUP_FIELDS,
    FOLLOWUP_PATIENT_FIELDS,
    MAINTENANCE_SCHEDULES,
    followup_field_names,
    followup_patient_field_names,
)
from training.generator.followup import FollowupSettings, detect_relapse, oracle_relapse
from training.generator.generate import generate_cohort


@pytest.fixture(scope="module")
def cohort():
    return generate_cohort(6000, seed=7)


@pytest.fixture(scope="module")
def responders(cohort):
    fu = cohort.followup
    return fu[fu["series_completed"] & fu["responder"]].copy()


def _km_median(group: pd.DataFrame) -> float:
    fit = KaplanMeierFitter().fit(group["days_to_relapse"].astype(float),
                                  group["relapse"].astype(bool))
    return float(fit.median_survival_time_)


def test_spawn4_extends_spawn3():
    """The follow-up stream is a fourth child; the first three are the cohort's streams."""
    three = np.random.SeedSequence(20261125).spawn(3)
    four = np.random.SeedSequence(20261125).spawn(4)
    for a, b in zip(three, four[:3], strict=True):
        assert np.array_equal(a.generate_state(4), b.generate_state(4))


def test_median_time_to_relapse_without_maintenance(responders):
    """Murrough 2013: median 18 days to relapse in responders without maintenance."""
    none = responders[responders["maintenance_schedule"] == "none"]
    assert 14 <= _km_median(none) <= 24


def test_weekly_maintenance_lowers_relapse(responders):
    """Weekly maintenance: fewer relapses; Cox HR vs none near SUSTAIN-1's 0.49."""
    by_plan = responders.groupby("maintenance_schedule")["relapse_8w"].agg(
        lambda s: s.dropna().astype(float).mean())
    assert by_plan["weekly"] < by_plan["none"] - 0.1
    assert _km_median(responders[responders["maintenance_schedule"] == "weekly"]) > 35
    pair = responders[responders["maintenance_schedule"].isin(["none", "weekly"])]
    data = pd.DataFrame({"T": pair["days_to_relapse"].astype(float),
                         "E": pair["relapse"].astype(int),
                         "weekly": (pair["maintenance_schedule"] == "weekly").astype(int)})
    hr = float(np.exp(CoxPHFitter().fit(data, "T", "E").params_["weekly"]))
    assert 0.35 <= hr <= 0.65


def test_columns_follow_the_followup_schema(cohort):
    assert list(cohort.followup.columns) == followup_patient_field_names()
    assert list(cohort.followup_sessions.columns) == followup_field_names()
    for frame, fields in ((cohort.followup, FOLLOWUP_PATIENT_FIELDS),
                          (cohort.followup_sessions, FOLLOWUP_FIELDS)):
        for spec in fields:
            values = frame[spec.name]
            if not spec.nullable and spec.name != "maintenance_schedule":
                assert values.notna().all(), spec.name
            if spec.dtype in ("int", "float"):
                assert values.dropna().astype(float).between(spec.min, spec.max).all(), spec.name


def test_only_completed_series_are_followed(cohort):
    fu = cohort.followup.set_index("patient_id")
    patients = cohort.patients.set_index("patient_id")
    assert (fu["series_completed"] == (patients["dropout"] == 0)).all()
    assert fu.loc[~fu["series_completed"], "maintenance_schedule"].isna().all()
    followed = set(cohort.followup_sessions["patient_id"])
    assert followed == set(fu.index[fu["series_completed"]])
    assert set(fu["maintenance_schedule"].dropna()) == set(MAINTENANCE_SCHEDULES)
    assert (fu["responder"] == (patients["response"] == 1)).all()


def test_relapse_is_derived_from_the_recorded_visits(cohort):
    """followup.csv's relapse and time to relapse follow from followup_sessions.csv."""
    visits = cohort.followup_sessions[cohort.followup_sessions["kind"] == "followup"]
    fu = cohort.followup.set_index("patient_id")
    base = cohort.patients.set_index("patient_id")["phq9_baseline"]
    wide = visits.pivot(index="patient_id", columns="week", values="phq9")
    days = visits.pivot(index="patient_id", columns="week", values="day_after_series")
    observed = wide.notna().to_numpy()
    got = detect_relapse(wide.fillna(0).to_numpy(float), observed,
                         base.loc[wide.index].to_numpy(float),
                         fu.loc[wide.index, "responder"].to_numpy(bool),
                         days.fillna(0).to_numpy(float))
    responders = fu.loc[wide.index, "responder"].to_numpy(bool)
    assert (got["relapse"][responders] == fu.loc[wide.index, "relapse"][responders]
            .astype(bool).to_numpy()).all()
    assert (got["days_to_relapse"][responders] == fu.loc[wide.index, "days_to_relapse"]
            [responders].to_numpy(float)).all()


def test_exposure_adds_up(cohort):
    maint = cohort.followup_sessions[cohort.followup_sessions["kind"] == "maintenance"]
    fu = cohort.followup.set_index("patient_id")
    counts = maint.groupby("patient_id").size().reindex(fu.index, fill_value=0)
    followed = fu["series_completed"]
    assert (counts[followed] == fu.loc[followed, "maintenance_sessions"]).all()
    attended = cohort.patients.set_index("patient_id")["sessions_attended"]
    assert (fu["total_sessions"] == attended + counts).all()
    weekly = fu[fu["maintenance_schedule"] == "weekly"]
    assert (weekly["maintenance_sessions"] == weekly["followup_weeks"]).all()


def test_screens_worsen_with_exposure(cohort):
    """Planted: more cumulative dose -> more urinary symptoms and craving, lower MoCA."""
    fu = cohort.followup[cohort.followup["series_completed"]]
    high = fu["total_mg_per_kg"] > fu["total_mg_per_kg"].median()
    urinary = fu["urinary_symptoms"].astype(bool)
    assert urinary[high].mean() > urinary[~high].mean()
    assert fu.loc[high, "moca"].mean() < fu.loc[~high, "moca"].mean()
    busy = fu["total_sessions"] > fu["total_sessions"].median()
    assert fu.loc[busy, "craving_score"].mean() > fu.loc[~busy, "craving_score"].mean()


def test_oracle_relapse_agrees_with_observed_rate(cohort, responders):
    state = cohort.patients.set_index("patient_id").loc[responders["patient_id"]]
    state = state.assign(**responders.set_index("patient_id")[
        ["phq9_end_of_series", "maintenance_schedule"]]).reset_index()
    p = oracle_relapse(state, FollowupSettings(), np.random.default_rng(0), replicates=50)
    known = responders["relapse_8w"].notna().to_numpy()
    observed = responders["relapse_8w"][known].astype(float).mean()
    assert abs(p[known].mean() - observed) < 0.03


def test_followup_alerts_fire_on_thresholds():
    rows = pd.DataFrame({
        "patient_id": "KAP-1", "kind": ["followup", "maintenance"] * 3,
        "week": [0, 1, 1, 1, 2, 2], "day_after_series": [0, 7, 7, 9, 14, 14],
        "craving_score": [1, None, None, None, 5, None],
        "moca": [28, None, None, None, 24, None],
        "blunting_score": [2, None, None, None, 2, None],
        "urinary_symptoms": [False, None, None, None, True, None],
        "cumulative_sessions": [6, 7, 7, 8, 8, 9],
        "cumulative_mg_per_kg": [3.0, 3.5, 3.5, 4.0, 4.0, 4.5]})
    alerts = followup_alerts(rows, FollowupThresholds(max_total_sessions=8,
                                                      max_sessions_per_week=0.5))
    assert set(alerts["kind"]) == {"cumulative sessions", "dosing frequency", "craving",
                                   "cognition", "urinary symptoms"}
    assert alerts.loc[alerts["kind"] == "cumulative sessions", "day_after_series"].item() == 14
    assert followup_alerts(rows).query("kind == 'cumulative sessions'").empty
