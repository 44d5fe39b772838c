"""Conditions: SNOMED CT and ICD-10 codes -> diagnoses, comorbidities, exclusions."""

from __future__ import annotations

import pytest
from fhir_builders import ICD10CM, REF_DATE, SNOMED, bundle, condition, patient

from interop.fhir.importer.patient import import_bundle


def run(*resources):
    return import_bundle(bundle([patient(), *resources]), reference_date=REF_DATE)


@pytest.mark.parametrize(("system", "code", "feature", "value"), [
    (SNOMED, "1153570009", "dx_trd", True),
    (SNOMED, "197480006", "dx_chronic_anxiety", True),
    (ICD10CM, "F41.1", "dx_chronic_anxiety", True),
    (SNOMED, "47505003", "dx_ptsd", True),
    (ICD10CM, "F43.10", "dx_ptsd", True),
    (SNOMED, "82423001", "dx_chronic_pain", True),
    (ICD10CM, "G89.29", "dx_chronic_pain", True),
    (SNOMED, "6471006", "dx_suicidality", True),
    (ICD10CM, "R45.851", "dx_suicidality", True),
    (ICD10CM, "Z91.51", "past_suicide_attempt", True),
    (SNOMED, "69322001", "psychosis_history", True),
    (SNOMED, "13746004", "psychosis_history", True),
    (ICD10CM, "F31.4", "psychosis_history", True),
    (ICD10CM, "F20.9", "psychosis_history", True),
    (SNOMED, "66214007", "substance_use", "active"),
    (ICD10CM, "F11.20", "substance_use", "active"),
    (ICD10CM, "F10.21", "substance_use", "remission"),
    (ICD10CM, "F12.11", "substance_use", "remission"),
    (ICD10CM, "I16.0", "hypertension", "uncontrolled"),
    (SNOMED, "84114007", "heart_disease", "severe"),
    (ICD10CM, "I50.9", "heart_disease", "severe"),
    (ICD10CM, "I25.10", "heart_disease", "stable"),
    (SNOMED, "19943007", "liver_disease", "severe"),
    (ICD10CM, "K74.60", "liver_disease", "severe"),
    (ICD10CM, "K76.0", "liver_disease", "mild"),
    (SNOMED, "77386006", "pregnant", True),
    (ICD10CM, "Z33.1", "pregnant", True),
    (ICD10CM, "I67.1", "vascular_contraindication", True),
    (ICD10CM, "G93.2", "raised_icp", True),
])
def test_code_maps_to_feature(system, code, feature, value):
    result = run(condition("c", system, code))
    assert result.patient[feature] == value
    assert result.evidence[feature] == ["Condition/c"]


def test_icd10_without_dots_matches_too():
    assert run(condition("c", ICD10CM, "F4310")).patient["dx_ptsd"] is True


def test_depression_without_trd_code_asks_for_trd_not_guessed():
    result = run(condition("c", SNOMED, "370143000"))
    assert "dx_trd" in result.missing
    assert any("not as treatment-resistant" in w for w in result.warnings)


def test_psychotic_depression_sets_psychosis_history():
    result = run(condition("c", ICD10CM, "F33.3"))
    assert result.patient["psychosis_history"] is True and "dx_trd" in result.missing


def test_hypertension_without_control_status_is_missing_with_warning():
    result = run(condition("c", SNOMED, "38341003"))
    assert "hypertension" in result.missing
    assert any("controlled or uncontrolled" in w for w in result.warnings)


def test_unknown_severity_does_not_hide_a_definite_severe_one():
    result = run(condition("a", SNOMED, "56265001"), condition("b", ICD10CM, "I21.9"))
    assert result.patient["heart_disease"] == "severe"


def test_unknown_severity_with_a_milder_definite_one_stays_missing():
    result = run(condition("a", SNOMED, "56265001"), condition("b", ICD10CM, "I48.0"))
    assert "heart_disease" in result.missing


def test_clinical_status_remission_means_substance_use_in_remission():
    result = run(condition("c", SNOMED, "7200002", clinical="remission",
                           abatementDateTime="2022-01-01"))
    assert result.patient["substance_use"] == "remission"
    assert not any("at least a year" in w for w in result.warnings)


def test_recent_remission_is_flagged_for_review():
    result = run(condition("c", ICD10CM, "F10.21", abatementDateTime="2025-03-01"))
    assert result.patient["substance_use"] == "remission"
    assert any("at least a year" in w for w in result.warnings)


def test_active_beats_remission():
    result = run(condition("a", ICD10CM, "F10.21"), condition("b", ICD10CM, "F14.20"))
    assert result.patient["substance_use"] == "active"


def test_resolved_history_still_counts_but_resolved_current_does_not():
    result = run(condition("psy", SNOMED, "69322001", clinical="resolved"),
                 condition("preg", SNOMED, "77386006", clinical="resolved"))
    assert result.patient["psychosis_history"] is True
    assert "pregnant" in result.missing
    assert any("resolved, so not counted" in w for w in result.warnings)


def test_refuted_condition_records_the_negative():
    result = run(condition("a", SNOMED, "77386006", clinical=None, verification="refuted"),
                 condition("b", SNOMED, "38341003", clinical=None, verification="refuted"))
    assert result.patient["pregnant"] is False
    assert result.patient["hypertension"] == "none"


def test_refuted_loses_to_an_active_record():
    result = run(condition("a", SNOMED, "47505003", clinical=None, verification="refuted"),
                 condition("b", ICD10CM, "F43.12"))
    assert result.patient["dx_ptsd"] is True


def test_unconfirmed_and_entered_in_error_are_not_used():
    result = run(condition("a", SNOMED, "69322001", verification="provisional"),
                 condition("b", SNOMED, "47505003", verification="entered-in-error"))
    assert "psychosis_history" in result.missing and "dx_ptsd" in result.missing
    assert any("provisional diagnosis not used" in w for w in result.warnings)


def test_nicotine_and_unrelated_codes_are_ignored():
    result = run(condition("a", ICD10CM, "F17.210"), condition("b", SNOMED, "44054006"))
    assert "substance_use" in result.missing


def test_absent_conditions_are_missing_not_no():
    result = run()
    for name in ("dx_ptsd", "psychosis_history", "pregnant", "liver_disease"):
        assert name in result.missing


def test_several_indications_leave_primary_diagnosis_to_the_clinician():
    result = run(condition("a", SNOMED, "1153570009"), condition("b", SNOMED, "47505003"))
    assert "primary_diagnosis" in result.missing
    assert any("trd, ptsd" in w for w in result.warnings)
