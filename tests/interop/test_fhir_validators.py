"""Issue 25 (5): an export an EHR accepts, checked by two independent validators.

``fhir.resources`` (Python, R4B models) and the npm ``fhir`` package (JavaScript, installed
by scripts/install-node-validator.sh) each validate every exported resource; each must also
reject a deliberately invalid resource (a string probability), so a validator that accepts
everything fails the test.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest
from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from interop.fhir.exporter import uscore
from interop.fhir.exporter.bundle import OUTCOME_SYSTEM, export_assessment
from interop.fhir.exporter.uscore import US_CORE
from interop.fhir.importer.patient import import_bundle
from interop.fhir.strict import type_errors
from models.clinical.eligibility import screen
from models.contract import schema

HERE = Path(__file__).parent
SCRIPT = HERE / "node" / "validate_fhir.js"
WHEN = datetime(2025, 6, 1, 9, 30, tzinfo=timezone.utc)
PREDICTIONS = {"response": 0.62, "remission": 0.31, "significant_dissociation": 0.18,
               "nausea_vomiting": 0.27, "hypertensive_reaction": 0.09, "dropout": 0.22}


def node_validate(resources: list[dict]) -> list[dict]:
    """The npm ``fhir`` validator's verdict on each resource."""
    if shutil.which("node") is None or not (HERE / "node_modules" / "fhir").is_dir():
        pytest.fail("the npm `fhir` validator is not installed: run "
                    "scripts/install-node-validator.sh (scripts/run-tests.sh does)")
    done = subprocess.run(["node", str(SCRIPT)], input=json.dumps(resources), text=True,
                          capture_output=True, cwd=HERE, timeout=120, check=True)
    return json.loads(done.stdout)


class JsonTypeError(ValueError):
    """A primitive written with the wrong JSON type."""


def python_validate(resource: dict) -> None:
    """fhir.resources' R4 model, then the JSON types it coerces (interop.fhir.strict)."""
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    wrong = type_errors(resource)
    if wrong:
        raise JsonTypeError("; ".join(wrong))


@pytest.fixture(scope="module")
def exported() -> dict:
    row = {schema.ID_COLUMN: "KAP-00007", schema.NAME_COLUMN: "Synthetic, Robin Alex",
           **schema.defaults(), "dx_trd": True, "past_suicide_attempt": True,
           "opioid": True, "benzo_dose_mg": 12.0,
           "ehr_identifiers": ["urn:oid:2.16.840.1.113883.19.5|MRN-0042"]}
    return export_assessment(row, PREDICTIONS, screen(row), "v-test", generated_at=WHEN,
                             sessions=[{"session_number": 1, "spo2_lowest": 95}])


def _resources(bundle: dict, rtype: str | None = None) -> list[dict]:
    return [e["resource"] for e in bundle["entry"]
            if rtype is None or e["resource"]["resourceType"] == rtype]


def _string_probability(bundle: dict) -> dict:
    risk = copy.deepcopy(_resources(bundle, "RiskAssessment")[0])
    risk["prediction"][0]["probabilityDecimal"] = "0.62"
    return risk


def test_the_export_passes_fhir_resources_and_a_string_probability_does_not(exported):
    get_fhir_model_class("Bundle").model_validate(exported)
    for resource in _resources(exported):
        python_validate(resource)
    with pytest.raises((ValidationError, JsonTypeError)):  # negative control
        python_validate(_string_probability(exported))
    missing = _resources(exported, "RiskAssessment")[0] | {"status": None}
    with pytest.raises(ValidationError):  # and a missing required element
        python_validate({k: v for k, v in missing.items() if v is not None})


def test_the_export_passes_the_npm_fhir_validator_and_a_string_probability_does_not(
        exported):
    verdicts = node_validate([exported, *_resources(exported)])
    bad = [(r.get("resourceType"), v["messages"]) for r, v in
           zip([exported, *_resources(exported)], verdicts, strict=True) if not v["valid"]]
    assert bad == []
    (negative,) = node_validate([_string_probability(exported)])  # negative control
    assert not negative["valid"]
    assert "probabilityDecimal" in negative["messages"][0]["location"]


def test_us_core_profiles_are_declared_where_the_data_meets_them(exported):
    patient = _resources(exported, "Patient")[0]
    assert US_CORE + "us-core-patient" in patient["meta"]["profile"]
    assert patient["name"][0]["family"] == "Synthetic"
    assert patient["name"][0]["given"] == ["Robin", "Alex"]
    assert {"system": "urn:oid:2.16.840.1.113883.19.5", "value": "MRN-0042"} in \
        patient["identifier"]  # the EHR's identifier goes back
    assert "birthDate" not in patient  # the store keeps the age only: never invented
    conditions = _resources(exported, "Condition")
    assert {c["code"]["coding"][0]["code"] for c in conditions} == {"1153570009", "82313006"}
    assert all(US_CORE + "us-core-condition-problems-health-concerns" in c["meta"]["profile"]
               for c in conditions)
    meds = _resources(exported, "MedicationStatement")
    assert {m["medicationCodeableConcept"]["coding"][0]["code"] for m in meds} == \
        {"N02A", "N05BA"}
    for obs in _resources(exported, "Observation"):
        declared = [p for p in obs.get("meta", {}).get("profile", []) if p.startswith(US_CORE)]
        timed = any(k.startswith("effective") for k in obs) \
            and obs.get("effectiveDateTime") != exported["timestamp"]
        assert timed or not declared, obs["id"]  # no profile without a recorded time
        if any(p.endswith(("blood-pressure", "heart-rate", "bmi", "pulse-oximetry"))
               for p in declared):
            cats = {c["code"] for cat in obs["category"] for c in cat["coding"]}
            assert "vital-signs" in cats


def test_a_reading_timed_at_the_export_earns_no_vital_signs_profile(exported):
    stamped = [o for o in _resources(exported, "Observation")
               if o.get("effectiveDateTime") == exported["timestamp"]]
    for obs in stamped:  # stored screening values stamped with the export time (until fixed)
        assert not [p for p in obs.get("meta", {}).get("profile", []) if p.startswith(US_CORE)]
    heart = {"resourceType": "Observation", "status": "final",
             "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
             "valueQuantity": {"value": 70}, "effectiveDateTime": "2025-06-01T09:30:00Z"}
    stamp = copy.deepcopy(heart)
    uscore.observation(stamp, export_time="2025-06-01T09:30:00Z")
    assert "profile" not in stamp.get("meta", {})
    uscore.observation(heart, export_time="2025-07-01T00:00:00Z")  # a recorded time
    assert heart["meta"]["profile"] == [US_CORE + "us-core-heart-rate"]


def test_spo2_carries_both_loinc_codes(exported):
    spo2 = [o for o in _resources(exported, "Observation")
            if any(c.get("code") == "59408-5" for c in o["code"]["coding"])]
    assert spo2, "the session's SpO2 was exported"
    for obs in spo2:
        assert {"59408-5", "2708-6"} <= {c["code"] for c in obs["code"]["coding"]}


def test_outcome_codes_resolve_in_the_bundle(exported):
    (system,) = [r for r in _resources(exported, "CodeSystem") if r["url"] == OUTCOME_SYSTEM]
    defined = {c["code"] for c in system["concept"]}
    for risk in _resources(exported, "RiskAssessment"):
        assert risk["prediction"][0]["outcome"]["coding"][0]["code"] in defined


def test_exported_conditions_and_medications_import_back(exported):
    back = import_bundle(exported)
    assert back.patient["dx_trd"] is True and back.patient["past_suicide_attempt"] is True
    assert back.patient["opioid"] is True
