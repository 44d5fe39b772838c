"""What-if explorer: de-identified, schema widgets, live predictions, scenarios, counterfactuals."""

from __future__ import annotations

from pathlib import Path

import pytest
from apptest_helpers import plotly_figures, sign_in, texts
from streamlit.testing.v1 import AppTest

from dashboard.services.patients.listing import cohort_table
from dashboard.services.patients.whatif import deidentified_patients, inputs_from, options_table
from dashboard.widgets.components import BANNER_TEXT
from models.contract.schema import ESKETAMINE_ROUTE, NAME_COLUMN, feature
from models.inference.counterfactual import CounterfactualResult, Option, Target

VIEW = Path(__file__).resolve().parents[2] / "dashboard" / "views" / "what_if.py"


@pytest.fixture
def page(kapcds_home: Path) -> AppTest:
    """The page on its own (the router registers it separately)."""
    at = sign_in(AppTest.from_file(str(VIEW), default_timeout=180), "trainee")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _scenario(at: AppTest) -> list[float]:
    table = next(d.value for d in at.dataframe if "scenario" in d.value.columns)
    return [round(float(v), 6) for v in table["scenario"]]


def test_renders_deidentified_with_banner(page: AppTest, workspace) -> None:
    assert BANNER_TEXT in texts(page.warning)
    options = page.selectbox(key="wi_patient").options
    assert options and all(o.startswith("P-") for o in options)
    cohort = cohort_table(workspace)  # the store's names and ids must never appear
    shown = " ".join(options) + texts(page.markdown) + texts(page.caption)
    names = set(cohort[NAME_COLUMN].head(50))
    assert not any(name in shown for name in names)
    assert not any(pid in shown for pid in cohort.index[:50])
    assert len(plotly_figures(page)) >= 3


def test_widget_change_updates_predictions_and_saves(page: AppTest) -> None:
    before = _scenario(page)
    was_oral = page.session_state["wi_in_route"] == "oral_sublingual"  # random pseudonym order
    therapy = page.selectbox(key="wi_in_psychotherapy")
    therapy.set_value(next(o for o in feature("psychotherapy").categories
                           if o != therapy.value)).run()  # a change whatever the baseline
    page.selectbox(key="wi_in_route").set_value("oral_sublingual").run()
    # an IV dose below 0.5 mg/kg is outside the oral range and is refused, so set one
    page.number_input(key="wi_in_dose_mg_per_kg").set_value(1.5).run()
    assert not page.exception
    assert _scenario(page) != before
    page.number_input(key="wi_in_bmi").set_value(59.5).run()
    assert "the model extrapolates here" in texts(page.warning)
    assert "0.5–3 for this route" in page.number_input(key="wi_in_dose_mg_per_kg").label
    page.text_input(key="wi_name").input("oral, no therapy").run()
    page.button(key="wi_save").click().run()
    assert "oral, no therapy" in page.multiselect(key="wi_compare").value
    table = next(d.value for d in page.dataframe if "changed inputs" in d.value.index)
    changed = table.loc["changed inputs", "oral, no therapy"]
    assert "Psychotherapy" in changed and ("Route" in changed) is not was_oral


def test_counterfactual_panel(page: AppTest) -> None:
    page.slider(key="wi_cf_threshold").set_value(99).run()
    page.button(key="wi_cf_run").click().run()
    shown = texts(page.info) + texts(page.success)
    assert "Not reachable within the clinical limits" in shown or any(
        "inputs changed" in d.value.columns for d in page.dataframe)
    page.slider(key="wi_cf_threshold").set_value(5).run()
    page.button(key="wi_cf_run").click().run()
    assert "already meets" in texts(page.success) or any(
        "inputs changed" in d.value.columns for d in page.dataframe)


def test_through_the_router_as_trainee(open_page) -> None:
    at = open_page("what_if", "trainee")
    assert "What-if explorer" in texts(at.title)
    assert at.selectbox(key="wi_patient").options[0].startswith("P-")


def test_out_of_range_input_is_refused_with_the_reason(page: AppTest) -> None:
    """Issue 12 point 7: an out-of-range dose is not silently replaced by the old value."""
    page.selectbox(key="wi_in_route").set_value("iv").run()
    page.number_input(key="wi_in_dose_mg_per_kg").set_value(2.5).run()
    assert not page.exception
    errors = texts(page.error)
    assert "2.5 mg/kg is outside the limits for" in errors and "mg/kg)" in errors
    assert not any("scenario" in d.value.columns for d in page.dataframe)  # nothing predicted
    page.number_input(key="wi_in_dose_mg_per_kg").set_value(0.5).run()
    assert "outside" not in texts(page.error)
    assert any("scenario" in d.value.columns for d in page.dataframe)
    page.number_input(key="wi_in_bmi").set_value(90.0).run()
    assert "Body-mass index: 90 kg/m² is outside the allowed range" in texts(page.error)


def test_tables_show_whole_percentages(page: AppTest) -> None:
    table = next(d.value for d in page.dataframe if "scenario" in d.value.columns)
    values = table["scenario"].tolist() + table["baseline"].tolist()
    assert all(v == round(v) or abs(v) < 1 for v in values)  # 42, or 0.4 below 1 %
    assert all(0 <= v <= 100 for v in values)
    page.text_input(key="wi_name").input("same").run()
    page.button(key="wi_save").click().run()
    compared = next(d.value for d in page.dataframe if "changed inputs" in d.value.index)
    cells = compared.drop(index="changed inputs").to_numpy().ravel()
    assert all(str(c).endswith("%") and len(str(c)) <= 5 for c in cells), cells



def test_coming_back_shows_the_starting_point_not_zeros(kapcds_home: Path, workspace) -> None:
    """Streamlit drops the state of the widgets a run did not draw, and keeps plain keys:
    back on this page after another one, "wi_loaded" was still set, so the inputs were not
    reset and were drawn as 0, every one refused and nothing predicted (HAZ-260, found by
    the load test). Coming back draws the starting point's values again."""
    first = deidentified_patients(cohort_table(workspace)).index[0]  # the default pick
    at = sign_in(AppTest.from_file(str(VIEW), default_timeout=180), "trainee")
    at.session_state["wi_loaded"] = f"patient:{first}"  # what outlives another page's run
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, texts(at.error)  # no "0 years is outside the allowed range"
    baseline = inputs_from(deidentified_patients(cohort_table(workspace)).loc[first])
    for name in ("age", "dose_mg_per_kg", "route", "sessions_per_week"):
        assert at.session_state[f"wi_in_{name}"] == baseline[name]
    assert any("scenario" in d.value.columns for d in at.dataframe)  # predicted


def test_esketamine_is_explored_in_mg_steps_never_per_kg(page: AppTest) -> None:
    """HAZ-240: choosing intranasal esketamine turns the dose into a 28/56/84 mg choice."""
    page.selectbox(key="wi_in_route").set_value("iv").run()
    page.number_input(key="wi_in_dose_mg_per_kg").set_value(0.5).run()
    page.selectbox(key="wi_in_route").set_value("intranasal_esketamine").run()
    dose = page.selectbox(key="wi_in_esketamine_dose_mg")
    assert dose.options == ["28 mg", "56 mg", "84 mg"]
    assert not [w for w in page.number_input if w.key == "wi_in_dose_mg_per_kg"]
    dose.set_value(84.0).run()
    assert not page.exception
    shown = texts(page.caption) + texts(page.markdown)
    assert "→ 84 mg" in shown and " nan" not in shown and "not applicable" not in shown
    at_84 = _scenario(page)
    page.selectbox(key="wi_in_esketamine_dose_mg").set_value(56.0).run()
    assert _scenario(page) != at_84  # the models read the dose: 56 and 84 mg differ
    labels = " ".join(str(v) for d in page.dataframe if "input" in d.value.columns
                      for v in d.value["input"])
    assert "Dose (esketamine, mg)" in labels


def test_counterfactual_options_give_each_plans_dose_in_its_unit() -> None:
    """Issue 30 (d): a move from IV to esketamine reads "Dose: 0.50 mg/kg → 56 mg", never
    "not applicable → 56 mg"."""
    current = {"route": "iv", "dose_mg_per_kg": 0.5, "esketamine_dose_mg": None}
    plan = {"route": ESKETAMINE_ROUTE, "dose_mg_per_kg": None, "esketamine_dose_mg": 56.0}
    option = Option({"route": ("iv", ESKETAMINE_ROUTE), "esketamine_dose_mg": (None, 56.0)},
                    2, 1.5, {}, plan)
    result = CounterfactualResult([Target("response", "above", 0.6)], {}, [option],
                                  current=current)
    changes = options_table(result, None)["changes"].iloc[0]
    assert changes == ("Route: intravenous ketamine → intranasal esketamine; "
                       "Dose: 0.50 mg/kg → 56 mg")
    back = CounterfactualResult([Target("response", "above", 0.6)], {}, [Option(
        {"route": (ESKETAMINE_ROUTE, "iv"), "dose_mg_per_kg": (None, 0.5)}, 2, 1.5, {},
        current)], current=plan)
    assert options_table(back, None)["changes"].iloc[0].endswith("Dose: 56 mg → 0.50 mg/kg")


def test_switching_route_and_back_keeps_the_other_changes(page: AppTest) -> None:
    """The dose field of the other unit is not drawn, so Streamlit drops its state: that must
    not reset the scenario (it reset every input to the starting point after a route
    change away from the patient's route)."""
    therapy = page.selectbox(key="wi_in_psychotherapy")
    changed = next(o for o in feature("psychotherapy").categories if o != therapy.value)
    therapy.set_value(changed).run()
    page.selectbox(key="wi_in_route").set_value("intranasal_esketamine").run()
    page.selectbox(key="wi_in_esketamine_dose_mg").set_value(84.0).run()
    page.selectbox(key="wi_in_route").set_value("im").run()
    page.number_input(key="wi_in_dose_mg_per_kg").set_value(0.6).run()
    page.selectbox(key="wi_in_route").set_value("intranasal_esketamine").run()
    assert not page.exception
    assert page.session_state["wi_in_psychotherapy"] == changed
    assert page.session_state["wi_in_route"] == "intranasal_esketamine"
    page.selectbox(key="wi_in_esketamine_dose_mg").set_value(56.0).run()
    assert any("scenario" in d.value.columns for d in page.dataframe)
