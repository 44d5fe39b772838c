"""The Streamlit-free layer: services, §5 alert rules and the pure plotly builders."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from dashboard.charts import explain
from dashboard.charts.explain import compare_contributions, shap_waterfall
from dashboard.charts.risk import compare_risks
from dashboard.charts.sessions import bp_chart, phq9_trajectory, side_effects_chart
from dashboard.services.cohort.overview import cohort_explanations, population_summary
from dashboard.services.lab.quality import shown_outcomes
from dashboard.services.patients.compare import compare_patients
from dashboard.services.patients.listing import (
    assess_patient,
    cohort_table,
    explain_outcome,
    find_patients,
    suggest_decision,
)
from dashboard.services.patients.progress import patient_progress
from dashboard.services.workspace import Workspace
from models.clinical.eligibility import screen
from models.clinical.risk_wording import wilson
from models.clinical.session_alerts import (
    alerts_frame,
    in_treatment,
    response_status,
    session_alerts,
)
from models.contract.schema import OUTCOMES, defaults


def _session(number: int, **values: object) -> dict[str, object]:
    row: dict[str, object] = {
        "patient_id": "P1", "session_number": number, "day": 3 * number, "route": "iv",
        "dose_mg_per_kg": 0.5, "phq9": 18, "phq9_item9": 0, "gad7": 10, "pcl5": None,
        "cssrs": 0, "sbp_pre": 120, "dbp_pre": 80, "hr_pre": 70, "sbp_post": 130,
        "dbp_post": 82, "hr_post": 75, "cadss": 5, "nausea": False, "vomiting": False,
        "headache": False, "dizziness": False, "sedation": False,
        "minutes_to_discharge": 90, "dropout_after": False}
    row.update(values)
    return row


def _kinds(sessions: list[dict[str, object]], baseline: float = 20) -> list[tuple[int, str]]:
    return [(a.session_number, a.kind) for a in
            session_alerts("P1", baseline, pd.DataFrame(sessions))]


def test_alert_thresholds_from_reference_section_5() -> None:
    assert _kinds([_session(1, sbp_post=180)]) == [(1, "blood pressure")]
    assert _kinds([_session(1, dbp_post=110)]) == [(1, "blood pressure")]
    assert _kinds([_session(1, sbp_pre=150, sbp_post=179, dbp_post=109)]) == []
    rise = session_alerts("P1", 20, pd.DataFrame([_session(1, sbp_pre=120, sbp_post=165)]))
    assert [(a.kind, a.severity) for a in rise] == [("blood pressure", "warning")]
    assert _kinds([_session(1, phq9_item9=1)]) == [(1, "suicide risk")]
    assert _kinds([_session(1, cssrs=3)]) == [(1, "suicide risk")]
    assert _kinds([_session(1, cssrs=2)]) == []
    assert _kinds([_session(1, phq9=25)]) == [(1, "worsening")]  # 20 + 5
    assert _kinds([_session(1, phq9=24)]) == []


def test_early_non_response_after_three_to_four_sessions() -> None:
    slow = [_session(n, phq9=17) for n in (1, 2, 3, 4)]  # 15 % better than 20
    assert _kinds(slow) == [(4, "early non-response")]
    improving = [*slow[:3], _session(4, phq9=16)]  # 20 % better: no alert
    assert _kinds(improving) == []
    assert _kinds(slow[:2]) == []  # too early to judge


def test_alerts_frame_handles_many_patients_and_response_status() -> None:
    rows = [_session(1, patient_id="A", sbp_post=190), _session(1, patient_id="B")]
    table = alerts_frame(pd.DataFrame(rows), pd.Series({"A": 20.0, "B": 20.0}))
    assert list(table["patient_id"]) == ["A"]
    assert response_status(20, pd.DataFrame([_session(1, phq9=4)])).startswith("in remission")
    assert response_status(20, pd.DataFrame([_session(1, phq9=10)])).startswith("responding")
    patients = pd.DataFrame({"patient_id": ["P1"], "planned_sessions": [6]})
    assert list(in_treatment(patients, pd.DataFrame([_session(1)]))) == ["P1"]
    stopped = pd.DataFrame([_session(1, dropout_after=True)])
    assert list(in_treatment(patients, stopped)) == []


def test_wilson_interval() -> None:
    lo, hi = wilson(0, 10)
    assert lo == 0 and 0.25 < hi < 0.35
    lo, hi = wilson(50, 100)
    assert lo == pytest.approx(1 - hi)


def test_suggestion_follows_the_screen() -> None:
    patient = defaults()
    assert suggest_decision(screen(patient)) in ("proceed", "proceed_with_cautions")
    assert suggest_decision(screen({**patient, "pregnant": True})) == "do_not_proceed"


def test_find_patients_and_assessment(workspace: Workspace) -> None:
    cohort = cohort_table(workspace)
    assert find_patients(cohort, "kap-00001").index[0] == "KAP-00001"
    high = find_patients(cohort, risk_outcome="response", risk_above=0.7)
    assert (high["response_probability"] >= 0.7).all() and len(high) < len(cohort)
    assessment = assess_patient(workspace, cohort, "KAP-00001")
    assert [r.name for r in assessment.risks] == workspace.model_set.outcomes
    shown = shown_outcomes(workspace.card)
    for risk in assessment.risks:
        assert risk.reliable is (risk.name in shown)
        if risk.reliable:
            assert 0 <= risk.percentile <= 100
            assert risk.observed_lo is not None and risk.observed_lo <= risk.observed_hi
        else:  # the quality gate: nothing patient-specific
            assert math.isnan(risk.probability) and math.isnan(risk.percentile)
            assert risk.observed is None and risk.similar == ""
    with pytest.raises(ValueError, match="2 to 4"):
        compare_patients(workspace, cohort, ["KAP-00001"], "response")


def test_explanation_adds_up_and_waterfall_ends_at_the_prediction(
        workspace: Workspace) -> None:
    cohort = cohort_table(workspace)
    explained = explain_outcome(workspace, cohort, "KAP-00007", "remission")
    e = explained.explanation
    assert e.base + e.contributions.sum() == pytest.approx(e.logit, abs=1e-6)
    for base, steps, scale, end in (
            (e.base_proba * 100, e.effects * 100, "probability", e.proba * 100),
            (e.base, e.contributions, "log-odds", e.logit)):
        figure = shap_waterfall(base, steps, {}, scale, top=5)
        assert figure.data[0].x[-1] == pytest.approx(end, abs=1e-6)
        assert len(figure.data[0].x) == 5 + 3  # baseline, 5 steps, the rest, the patient


def test_progress_band_and_cohort_views(workspace: Workspace) -> None:
    cohort = cohort_table(workspace)
    progress = patient_progress(workspace, cohort, "KAP-00008")
    assert len(progress.band) >= progress.planned_sessions
    assert (progress.band["q10"] <= progress.band["q90"]).all()
    figure = phq9_trajectory(progress.sessions, progress.band, progress.baseline_phq9)
    assert {t.name for t in figure.data} >= {"observed PHQ-9", "expected (median)"}
    summary = population_summary(cohort)
    assert summary["headline"]["patients"] == len(cohort)
    explained = cohort_explanations(workspace, cohort.head(200))
    assert set(explained) == set(shown_outcomes(workspace.card))  # gated: no explanation
    assert explained["response"].importance.iloc[0] >= explained["response"].importance.iloc[-1]
    assert len(explain.beeswarm(explained["response"].beeswarm).data[0].x) > 0


def test_bp_chart_draws_the_alert_lines() -> None:
    sessions = pd.DataFrame([_session(1), _session(2, sbp_post=185)])
    figure = bp_chart(sessions)
    assert {shape.y0 for shape in figure.layout.shapes} == {180, 110}
    side = side_effects_chart(pd.DataFrame([_session(1, cadss=25, nausea=True)]))
    assert any(shape.y0 == 20 for shape in side.layout.shapes)


def test_compare_charts_align_features() -> None:
    contributions = pd.DataFrame({"A": [0.2, -0.1, 0.0], "B": [0.1, 0.3, -0.2]},
                                 index=["age", "bmi", "sex"])
    figure = compare_contributions(contributions, {"age": "Age", "bmi": "BMI"})
    assert [t.name for t in figure.data] == ["A", "B"]
    assert list(figure.data[0].y) == list(figure.data[1].y) == ["BMI", "Age", "sex"]
    risks = pd.DataFrame({"A": [0.5], "B": [0.25]}, index=["Response"])
    assert [t.name for t in compare_risks(risks).data] == ["A", "B"]


def test_user_text_is_inert_in_markdown() -> None:
    from dashboard.widgets.components import plain

    zwsp = "\u200b"  # breaks the autolink GFM would otherwise make of the URL
    assert plain("[x](http://evil) **b**") == rf"\[x\]\(http\:{zwsp}//evil\) \*\*b\*\*"
    assert plain("Novak, Avery") == "Novak, Avery"


def test_cohort_risk_summaries_and_counts_match_the_predictions(workspace: Workspace) -> None:
    """Box statistics and 5-point bin counts computed on the server (issue 18: the
    browser no longer gets every patient's prediction) equal numpy's on the same values."""
    from dashboard.services.cohort.overview import risk_counts, risk_summaries
    from dashboard.services.patients.gaps import predictable

    cohort = cohort_table(workspace)
    shown = shown_outcomes(workspace.card)
    summaries, counts = risk_summaries(cohort, workspace.card), risk_counts(cohort, workspace.card)
    name = next(iter(shown))
    label = next(o.label for o in OUTCOMES if o.name == name)
    values = predictable(cohort)[f"{name}_probability"].to_numpy(dtype=float)
    q1, median, q3 = np.percentile(values, [25, 50, 75])
    row = summaries.loc[label]
    assert (row["q1"], row["median"], row["q3"], row["n"]) == (q1, median, q3, len(values))
    assert row["lowerfence"] >= q1 - 1.5 * (q3 - q1) and row["lowerfence"] in values
    assert row["upperfence"] <= q3 + 1.5 * (q3 - q1) and row["upperfence"] in values
    assert set(summaries.index) == {o.label for o in OUTCOMES if o.name in shown}
    mine = counts[counts["outcome"] == label]
    assert list(mine["patients"]) == list(np.histogram(values, np.linspace(0, 1, 21))[0])
    assert mine["patients"].sum() == len(values)


def test_warm_up_builds_the_kernels_and_never_blocks_loading(
        workspace: Workspace, caplog: pytest.LogCaptureFixture) -> None:
    """A loaded version is warmed (compiled explainers built) before the first request; a
    model set that cannot be warmed is still loaded, with a warning."""
    import copy

    from dashboard.services.startup import warm_up

    fresh = copy.deepcopy(workspace.model_set)
    for model in fresh.outcome_models.values():
        model.__dict__.pop("_fast_shap", None)
    warm_up(fresh)
    assert all("_fast_shap" in m.__dict__ for m in fresh.outcome_models.values())
    with caplog.at_level("WARNING", logger="dashboard.services.startup"):
        warm_up(object())  # type: ignore[arg-type]
    assert "model warm-up skipped" in caplog.text
