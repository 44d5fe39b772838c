"""Durability view: everything comes from the store. A small generated cohort is written out
and seeded into an SQLite store the way first start seeds the sample; the follow-up read
back from the store must give the generator's own relapse labels, the figures build from
it, and the render functions run under AppTest with every follow-up CSV made unreadable."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.charts.durability import (
    exposure_figure,
    km_figure,
    plan_risk_figure,
    screens_figure,
)
from dashboard.services.patients import followup as svc
from models.clinical.followup_alerts import DEFAULT_THRESHOLDS
from models.contract.followup_schema import MAINTENANCE_SCHEDULES
from models.learners.relapse import RelapseModel
from records.db import make_engine
from records.followup.imports import seed_followup
from records.imports.bulk import seed_from_samples
from records.migrate import upgrade
from training.generator.generate import generate_cohort, write_cohort
from training.train_relapse import relapse_dataset


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """800 synthetic patients seeded into a store with their follow-up, and a quickly
    fitted relapse model; ``data`` is read back from the store."""
    cohort = generate_cohort(800, seed=3)
    folder = tmp_path_factory.mktemp("cohort")
    write_cohort(cohort, folder)
    engine = make_engine(f"sqlite:///{folder / 'store.sqlite3'}")
    upgrade(engine)
    seed_from_samples(engine, folder)
    seed_followup(engine, folder)
    data = svc.load_followup(engine)
    frame, y = relapse_dataset(cohort.patients, cohort.followup)
    model = RelapseModel(cv_folds=3).fit(frame, y)
    patients = cohort.patients.set_index("patient_id", drop=False)
    fu = cohort.followup
    responder = fu.loc[fu["series_completed"] & fu["responder"]
                       & (fu["maintenance_schedule"] == "weekly"), "patient_id"].iloc[0]
    dropout = fu.loc[~fu["series_completed"], "patient_id"].iloc[0]
    yield SimpleNamespace(data=data, model_set=SimpleNamespace(relapse=model),
                          patients=patients, responder=responder, dropout=dropout,
                          cohort=cohort, engine=engine, folder=folder)
    engine.dispose()


def _shape_values(fig, axis: str) -> set[float]:
    return {float(s[axis + "0"]) for s in fig.layout.shapes}


def test_store_followup_gives_the_generators_labels(small):
    """Relapse, its day and the 8-week label computed from stored visits equal the
    generator's own (which applied the same definition to the same visits)."""
    ref = small.cohort.followup.set_index("patient_id")
    ref = ref[ref["series_completed"]]
    got = small.data.followup.loc[ref.index]
    for name in ("maintenance_schedule", "phq9_end_of_series", "responder",
                 "total_sessions", "followup_weeks"):
        assert list(got[name].astype(str)) == list(ref[name].astype(str)), name
    for name in ("relapse", "days_to_relapse", "relapse_8w"):
        mine = [None if pd.isna(v) else float(v) for v in got[name]]
        theirs = [None if pd.isna(v) else float(v) for v in ref[name]]
        assert mine == theirs, name
    assert list(got["total_mg_per_kg"]) == pytest.approx(list(ref["total_mg_per_kg"]),
                                                         abs=1e-3)
    table = svc.durability_table(small.data.followup)
    assert len(table) == len(MAINTENANCE_SCHEDULES)
    weekly, none = (table.set_index("Maintenance plan").loc[p, "Median days to relapse"]
                    for p in ("weekly", "no maintenance"))
    assert weekly > none


def test_relapse_alert_and_exposure_by_route(small):
    relapsed = small.data.followup.index[small.data.followup["relapse"].astype("boolean")
                                         .fillna(False).to_numpy(dtype=bool)][0]
    alerts = svc.patient_alerts(svc.patient_visits(small.data, relapsed), data=small.data)
    assert "relapse" in set(alerts["kind"])
    assert "relapse" in set(svc.cohort_alert_counts(small.data)["Alert"])
    routes = svc.route_exposure(small.data, small.responder)
    total = routes.iloc[-1]
    row = small.data.followup.loc[small.responder]
    assert int(total["sessions"]) == int(row["total_sessions"])
    assert float(total["mg_per_kg"]) == pytest.approx(float(row["total_mg_per_kg"]), abs=0.01)


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
    sessions = small.cohort.sessions[small.cohort.sessions["patient_id"] == small.dropout]
    dropout = svc.series_end(small.dropout, small.data, sessions,
                             int(small.patients.loc[small.dropout, "planned_sessions"]))
    assert dropout is not None and dropout["series_completed"] is False
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
    from dashboard.widgets.patients.durability import render_durability

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
    assert at.header[0].value == "Durability and long-term follow-up"


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


def test_render_with_a_store_without_followup(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    upgrade(engine)
    assert svc.load_followup(engine) is None
    at = _run(patient_id=None, cohort=None, model_set=None, data=None)
    assert "no follow-up records" in at.info[0].value
    engine.dispose()


def _from_store(patient_id, cohort, model_set, url):
    from dashboard.widgets.patients.durability import render_durability
    from records.db import make_engine

    render_durability(patient_id, cohort=cohort, model_set=model_set,
                      engine=make_engine(url))


def test_no_followup_csv_is_read_after_seeding(small, monkeypatch):
    """Once seeded, the view needs no CSV: the files are gone and reading any CSV fails."""
    for name in ("followup.csv", "followup_sessions.csv"):
        (small.folder / name).unlink()

    def refuse(*args, **kwargs):
        raise AssertionError("a CSV was read at run time")

    monkeypatch.setattr(pd, "read_csv", refuse)
    monkeypatch.setattr("models.contract.csv_input.read_csv_strict", refuse)
    monkeypatch.setattr("training.data.load_followup", refuse)
    url = str(small.engine.url)
    for patient in (None, small.responder):
        at = AppTest.from_function(_from_store, kwargs={
            "patient_id": patient, "cohort": small.patients, "model_set": small.model_set,
            "url": url}, default_timeout=60)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        titles = _titles(at)
        assert any(("Kaplan–Meier" if patient is None else "exposure") in t for t in titles)
