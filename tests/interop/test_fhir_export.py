"""Export: a validated R4 collection Bundle with RiskAssessments and the eligibility screen."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from fhir.resources.R4B import get_fhir_model_class

from interop.fhir.exporter.bundle import DISCLAIMER, FhirExportError, export_assessment
from interop.fhir.importer.patient import import_bundle
from models.clinical.eligibility import screen
from models.contract import schema

WHEN = datetime(2025, 6, 1, 9, 30, tzinfo=timezone.utc)
PREDICTIONS = {"response": 0.62, "remission": 0.31, "significant_dissociation": 0.18,
               "nausea_vomiting": 0.27, "hypertensive_reaction": 0.09, "dropout": 0.22}


@pytest.fixture
def row():
    return {schema.ID_COLUMN: "KAP-00007", schema.NAME_COLUMN: "Robin Synthetic",
            **schema.defaults(), "past_suicide_attempt": True, "benzo_dose_mg": 12.0}


def by_type(bundle, rtype):
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == rtype]


def test_bundle_is_valid_r4_collection(row):
    bundle = export_assessment(row, PREDICTIONS, screen(row), "v-test", generated_at=WHEN)
    get_fhir_model_class("Bundle").model_validate(bundle)
    assert bundle["type"] == "collection" and bundle["timestamp"].startswith("2025-06-01")
    assert bundle["meta"]["tag"][0]["code"] == "HTEST"


def test_one_risk_assessment_per_outcome_with_basis_and_disclaimer(row):
    bundle = export_assessment(row, PREDICTIONS, screen(row), "v-test", generated_at=WHEN)
    risks = by_type(bundle, "RiskAssessment")
    assert [r["prediction"][0]["outcome"]["coding"][0]["code"] for r in risks] == \
        schema.outcome_names()
    urls = {e["fullUrl"] for e in bundle["entry"]
            if e["resource"]["resourceType"] == "Observation"
            and e["resource"]["code"]["coding"][0]["system"] == "http://loinc.org"}
    assert len(urls) == 5  # PHQ-9, GAD-7, BP panel, heart rate, BMI
    for risk in risks:
        name = risk["prediction"][0]["outcome"]["coding"][0]["code"]
        assert risk["prediction"][0]["probabilityDecimal"] == pytest.approx(PREDICTIONS[name])
        assert "v-test" in risk["method"]["text"]
        assert {b["reference"] for b in risk["basis"]} == urls
        assert risk["note"][0]["text"] == DISCLAIMER
        patient_url = bundle["entry"][0]["fullUrl"]
        assert risk["subject"]["reference"] == patient_url


def test_eligibility_is_an_observation_with_every_finding(row):
    result = screen(row)
    bundle = export_assessment(row, PREDICTIONS, result, "v-test", generated_at=WHEN)
    screen_obs = [o for o in by_type(bundle, "Observation")
                  if o["code"]["coding"][0]["code"] == "eligibility-screen"]
    assert len(screen_obs) == 1
    obs = screen_obs[0]
    assert obs["valueCodeableConcept"]["coding"][0]["code"] == "eligible_with_cautions"
    assert obs["valueCodeableConcept"]["text"] == result.summary
    codes = [c["code"]["coding"][0]["code"] for c in obs["component"]]
    assert "past_suicide_attempt" in codes and "benzodiazepine_dose" in codes
    assert obs["note"][0]["text"] == DISCLAIMER


def test_reference_basis_and_uncertainty_text(row):
    bundle = export_assessment(row, {"response": 0.5}, screen(row), "v2",
                               ["Observation/phq9", "Observation/bp"],
                               uncertainty={"response": "observed 48 % (95 % CI 40–56 %)"})
    risk = by_type(bundle, "RiskAssessment")[0]
    assert [b["reference"] for b in risk["basis"]] == ["Observation/phq9", "Observation/bp"]
    assert "observed 48 %" in risk["prediction"][0]["rationale"]
    assert len(by_type(bundle, "Observation")) == 1  # only the eligibility screen


def test_same_input_same_ids(row):
    first = export_assessment(row, PREDICTIONS, screen(row), "v-test", generated_at=WHEN)
    again = export_assessment(row, PREDICTIONS, screen(row), "v-test", generated_at=WHEN)
    assert first == again


@pytest.mark.parametrize(("predictions", "message"), [
    ({"happiness": 0.5}, "unknown outcome"), ({"response": 1.2}, "between 0 and 1")])
def test_bad_predictions_are_refused(row, predictions, message):
    with pytest.raises(FhirExportError, match=message):
        export_assessment(row, predictions, screen(row), "v-test")


def test_exported_observations_import_back(row):
    bundle = export_assessment(row, PREDICTIONS, screen(row), "v-test", generated_at=WHEN)
    back = import_bundle(bundle)
    for name in ("sex", "phq9_baseline", "gad7_baseline", "systolic_bp", "diastolic_bp",
                 "heart_rate", "bmi"):
        assert back.patient[name] == row[name]
    # Issue 25: the Bundle also carries the outcome CodeSystem (not patient data).
    assert back.ignored == {"RiskAssessment": len(PREDICTIONS), "CodeSystem": 1}
