"""Observations: LOINC codes, UCUM conversions, BP panels, weight + height -> BMI."""

from __future__ import annotations

import pytest
from fhir_builders import (
    REF_DATE,
    bp_panel,
    bundle,
    component,
    observation,
    patient,
    quantity,
)

from interop.fhir.importer.patient import import_bundle


def run(*resources):
    return import_bundle(bundle([patient(), *resources]), reference_date=REF_DATE)


def test_scales_by_loinc_integer_and_quantity():
    result = run(observation("p", "44261-6", 17),
                 observation("g", "70274-6", quantity(9, "{score}")))
    assert result.patient["phq9_baseline"] == 17
    assert result.patient["gad7_baseline"] == 9
    assert result.evidence["phq9_baseline"] == ["Observation/p"]


def test_latest_value_by_effective_date_wins_whatever_the_order():
    result = run(observation("new", "44261-6", 12, when="2025-05-20"),
                 observation("old", "44261-6", 22, when="2024-12-01"),
                 observation("mid", "44261-6", 18, when="2025-02-01T10:00:00+02:00"))
    assert result.patient["phq9_baseline"] == 12
    assert any("3 readings" in w and "Observation/new" in w for w in result.warnings)


def test_effective_period_and_entered_in_error_are_handled():
    result = run(observation("a", "8867-4", quantity(70, "/min"), when="2025-01-01"),
                 observation("b", "8867-4", quantity(99, "/min"), status="entered-in-error",
                             when="2025-05-01"),
                 observation("c", "8867-4", quantity(64, "/min"), when=None,
                             effectivePeriod={"start": "2025-04-01"}))
    assert result.patient["heart_rate"] == 64


@pytest.mark.parametrize("panel", ["55284-4", "85354-9"])
def test_bp_panel_components(panel):
    result = run(bp_panel("bp", 141, 92, panel=panel))
    assert (result.patient["systolic_bp"], result.patient["diastolic_bp"]) == (141, 92)
    assert result.evidence["systolic_bp"] == ["Observation/bp"]


def test_bp_alone_and_kpa_converted():
    result = run(observation("s", "8480-6", quantity(16, "kPa")),
                 observation("d", "8462-4", quantity(80, "mm[Hg]")))
    assert result.patient["systolic_bp"] == 120  # 16 kPa = 120.0 mmHg
    assert result.patient["diastolic_bp"] == 80


def test_bmi_given_directly_beats_weight_and_height():
    result = run(observation("bmi", "39156-5", quantity(24.5, "kg/m2")),
                 observation("w", "29463-7", quantity(100, "kg")),
                 observation("h", "8302-2", quantity(170, "cm")))
    assert result.patient["bmi"] == 24.5


@pytest.mark.parametrize(("weight", "height", "expected"), [
    (quantity(80, "kg"), quantity(180, "cm"), 24.69),
    (quantity(176.37, "[lb_av]"), quantity(70.866, "[in_i]"), 24.69),
    (quantity(80000, "g"), quantity(1.8, "m"), 24.69),
    (quantity(80, "kg"), quantity(5.905512, "[ft_i]"), 24.69),
])
def test_weight_and_height_give_bmi_in_any_ucum_unit(weight, height, expected):
    result = run(observation("w", "29463-7", weight), observation("h", "8302-2", height))
    assert result.patient["bmi"] == pytest.approx(expected, abs=0.02)
    assert set(result.evidence["bmi"]) == {"Observation/w", "Observation/h"}
    assert any("BMI" in w and "calculated" in w for w in result.warnings)


def test_weight_without_height_leaves_bmi_missing():
    result = run(observation("w", "29463-7", quantity(80, "kg")))
    assert "bmi" in result.missing and "bmi" not in result.patient


def test_unit_text_without_ucum_code_is_read_with_a_warning():
    result = run(observation("w", "29463-7", {"value": 165, "unit": "lbs"}),
                 observation("h", "8302-2", {"value": 65, "unit": "in"}))
    assert result.patient["bmi"] == pytest.approx(27.46, abs=0.02)
    assert any("'lbs' has no UCUM code" in w for w in result.warnings)


def test_unknown_unit_is_skipped_not_guessed():
    result = run(observation("w", "29463-7", quantity(80, "stone_uk", "st")),
                 observation("h", "8302-2", quantity(180, "cm")),
                 observation("hr", "8867-4", quantity(1.2, "Hz")))
    assert "bmi" in result.missing and "heart_rate" in result.missing
    assert any("cannot be read as mass" in w for w in result.warnings)


def test_out_of_range_value_is_left_missing_not_clipped():
    result = run(observation("p", "44261-6", 31), observation("hr", "8867-4",
                                                              quantity(20, "/min")))
    assert "phq9_baseline" in result.missing and "heart_rate" in result.missing
    assert any("outside the allowed range" in w for w in result.warnings)


def test_fractional_score_is_refused():
    result = run(observation("p", "44261-6", quantity(12.5, "{score}")))
    assert "phq9_baseline" in result.missing


def test_stale_value_is_flagged():
    result = run(observation("p", "44261-6", 14, when="2022-01-01"))
    assert result.patient["phq9_baseline"] == 14
    assert any("more than 365 days" in w for w in result.warnings)


def test_other_loinc_codes_and_systems_are_ignored():
    other = observation("t", "8310-5", quantity(37, "Cel"))
    wrong_system = observation("x", "44261-6", 15)
    wrong_system["code"]["coding"][0]["system"] = "http://example.org/local"
    result = run(other, wrong_system)
    assert "phq9_baseline" in result.missing


def test_component_in_a_non_panel_observation_is_read():
    obs = observation("v", "85353-1", None, components=[
        component("8867-4", quantity(81, "{beats}/min"))])
    assert run(obs).patient["heart_rate"] == 81


def test_pregnancy_status_observation():
    coded = {"coding": [{"system": "http://snomed.info/sct", "code": "60001007"}]}
    result = run(observation("preg", "82810-3", None, valueCodeableConcept=coded))
    assert result.patient["pregnant"] is False
    assert result.evidence["pregnant"] == ["Observation/preg"]
