"""Durability view: the plotly figures build from follow-up data, and the render functions run
under AppTest for one patient and for the cohort (small in-memory cohort, no bootstrap)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from base import settings
from dashboard.charts.durability import (
    exposure_figure,
    km_figure,
    plan_risk_figure,
    screens_figure,
)
from dashboard.services import followup as svc
from models.followup_alerts import DEFAULT_THRESHOLDS
from models.followup_schema import MAINTENANCE_SCHEDULES
from models.relapse import RelapseModel
from training.generate import generate_cohort
from training.train_relapse import relapse_dataset


@pytest.fixture(scope="module")
def small():
    """800 synthetic patients with follow-up and a quickly fitted relapse model."""
    cohort = generate_cohort(800, seed=3)
    data = svc.FollowupData(cohort.followup.set_index("patient_id", drop=False),
                            cohort.followup_sessions)
    frame, y = relapse_dataset(cohort.patients, cohort.followup)
    model = RelapseModel(cv_folds=3).fit(frame, y)
    patients = cohort.patients.set_index("patient_id", drop=False)
    fu = cohort.followup
    responder = fu.loc[fu["series_completed"] & fu["responder"]
                       & (fu["maintenance_schedule"] == "weekly"), "patient_id"].iloc[0]
    dropout = fu.loc[~fu["series_completed"], "patient_id"].iloc[0]
    return SimpleNamespace(data=data, model_set=SimpleNamespace(relapse=model),
                           patients=patients, responder=responder, dropout=dropout)


def _shape_values(fig, axis: str) -> set[float]:
    return {float(s[axis + "0"]) for s in fig.layout.shapes}


def test_read_followup_from_the_sample_folder():
    data = svc.read_followup(settings.DATA_SAMPLES_DIR)
    assert data is not None and len(data.followup) == settings.SAMPLE_PATIENTS
    table = svc.durability_table(data.followup)
    assert len(table) == len(MAINTENANCE_SCHEDULES)
    weekly, none = (table.set_index("Maintenance plan").loc[p, "Median days to relapse"]
                    for p in ("weekly", "no maintenance"))
    assert 14 <= none <= 24 and weekly > none


def test_km_figure_has_a_curve_and_band_per_plan(small):
    curves = svc.survival_curves(small.data.followup)
    assert set(curves) == set(MAINTENANCE_SCHEDULES)
    for curve in curves.values():
        assert curve["survival"].is_monotonic_decreasing
        assert (curve["lo"] <= curve["survival"] + 1e-9).all()
        assert (curve["survival"] <= curve["hi"] + 1e-9).all()
    fig = km_figure(curves)
    assert len(fig.data) == 3 * len(curves)
    assert sum("median" in (t.name or "") for t in fig.data) == len(curves)


def test_plan_risk_figure_matches_the_model(small):
    patient = small.patients.loc[small.responder]
    end = svc.series_end(small.responder, small.data)
    risks = svc.plan_risks(small.model_set.relapse, patient, end)
    row = patient.to_frame().T.infer_objects().assign(
        phq9_end_of_series=end["phq9_end_of_series"])
    expected = small.model_set.relapse.predict_by_schedule(row).iloc[0]
    assert list(risks["probability"]) == pytest.approx(list(expected))
    assert risks.loc[risks["current"], "plan"].tolist() == ["weekly"]
    fig = plan_risk_figure(risks)
    assert list(fig.data[0].y) == pytest.approx(list(expected))
    dropout = svc.series_end(small.dropout, small.data)
    assert svc.plan_risks(small.model_set.relapse, small.patients.loc[small.dropout],
                          dropout) is None


def test_exposure_and_screen_figures_draw_the_alert_thresholds(small):
    visits = svc.patient_visits(small.data, small.responder)
    exposure = exposure_figure(svc.exposure_timeline(visits))
    assert {float(DEFAULT_THRESHOLDS.max_total_sessions),
            DEFAULT_THRESHOLDS.max_total_mg_per_kg} <= _shape_values(exposure, "y")
    screens = svc.screen_results(visits)
    assert list(screens["week"]) == sorted(set(screens["week"]) & {0, 4, 8, 12})
    fig = screens_figure(screens)
    assert len(fig.data) == 4
    assert {float(DEFAULT_THRESHOLDS.craving_at_least), float(DEFAULT_THRESHOLDS.moca_below),
            float(DEFAULT_THRESHOLDS.blunting_at_least)} <= _shape_values(fig, "y")


def _app(patient_id, cohort, model_set, data):
    from dashboard.widgets.durability import render_durability

    render_durability(patient_id, cohort=cohort, model_set=model_set, data=data)


def _run(**kwargs) -> AppTest:
    at = AppTest.from_function(_app, kwargs=kwargs, default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _titles(at: AppTest) -> list[str]:
    return [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]


def test_render_patient_view(small):
    at = _run(patient_id=small.responder, cohort=small.patients, model_set=small.model_set,
              data=small.data)
    titles = _titles(at)
    assert any("each maintenance plan" in t for t in titles)
    assert any("exposure" in t for t in titles) and any("screens" in t for t in titles)
    assert at.subheader[0].value == "Durability and long-term follow-up"


def test_render_patient_without_a_completed_series(small):
    at = _run(patient_id=small.dropout, cohort=small.patients, model_set=small.model_set,
              data=small.data)
    assert not _titles(at)
    info = "\n".join(i.value for i in at.info)
    assert "series is complete" in info and "No follow-up visits" in info


def test_render_cohort_view(small):
    at = _run(patient_id=None, cohort=None, model_set=None, data=small.data)
    assert any("Kaplan–Meier" in t for t in _titles(at))
    frames = [d.value for d in at.dataframe]
    assert any("Maintenance plan" in f.columns for f in frames)
    assert any(isinstance(f, pd.DataFrame) and "Alert" in f.columns for f in frames)


def test_render_without_followup_files(tmp_path, monkeypatch):
    monkeypatch.setenv("KAPCDS_FOLLOWUP_DIR", str(tmp_path))
    at = _run(patient_id=None, cohort=None, model_set=None, data=None)
    assert "No follow-up records" in at.info[0].value
