"""Medications: RxNorm codes and names -> diazepam-equivalent dose and caution flags."""

from __future__ import annotations

import pytest
from fhir_builders import (
    REF_DATE,
    bundle,
    dosage,
    med_concept,
    med_request,
    med_statement,
    patient,
)

from interop.fhir import codes as fhir_codes
from interop.fhir.importer.patient import import_bundle


def run(*resources):
    return import_bundle(bundle([patient(), *resources]), reference_date=REF_DATE)


@pytest.mark.parametrize(("concept", "dose", "expected"), [
    (med_concept(rxnorm="6470", display="lorazepam"), dosage(1, "mg", 2), 20.0),
    (med_concept("Xanax 0.5 MG Oral Tablet"), dosage(1, "{tbl}", 3), 30.0),
    (med_concept(rxnorm="2598"), dosage(500, "ug", 1), 10.0),
    (med_concept("diazepam 5 MG Oral Tablet"), dosage(1, "{tbl}", 1), 5.0),
    (med_concept("temazepam"), dosage(20, "mg", 1), 10.0),
])
def test_benzodiazepine_dose_in_diazepam_equivalents(concept, dose, expected):
    result = run(med_statement("m", concept, [dose]))
    assert result.patient["benzo_dose_mg"] == pytest.approx(expected)
    assert result.evidence["benzo_dose_mg"] == ["MedicationStatement/m"]


def test_doses_of_different_benzodiazepines_add_up():
    result = run(med_statement("a", med_concept("lorazepam"), [dosage(0.5, "mg", 1)]),
                 med_statement("b", med_concept("clonazepam"), [dosage(0.25, "mg", 2)]))
    assert result.patient["benzo_dose_mg"] == pytest.approx(5.0 + 10.0)


def test_same_drug_in_request_and_statement_is_counted_once_latest_wins():
    result = run(med_request("r", med_concept("diazepam"), [dosage(5, "mg", 2)],
                             when="2025-01-01"),
                 med_statement("s", med_concept("diazepam"), [dosage(5, "mg", 1)],
                               when="2025-04-01"))
    assert result.patient["benzo_dose_mg"] == pytest.approx(5.0)


def test_several_dosage_lines_and_weekly_period():
    result = run(med_statement("m", med_concept("diazepam"), [
        dosage(2, "mg", 1), dosage(4, "mg", 1, period=1, period_unit="d"),
        dosage(7, "mg", 1, period=1, period_unit="wk")]))
    assert result.patient["benzo_dose_mg"] == pytest.approx(7.0)


def test_timing_code_bid():
    dose = {"timing": {"code": {"coding": [{
        "system": "http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation",
        "code": "BID"}]}}, "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "mg",
                                                              "code": "mg"}}]}
    result = run(med_request("m", med_concept("lorazepam"), [dose]))
    assert result.patient["benzo_dose_mg"] == pytest.approx(20.0)


def test_contained_and_referenced_medication_resources():
    contained = {"resourceType": "Medication", "id": "med1",
                 "code": {"text": "Ativan"},
                 "ingredient": [{"itemCodeableConcept": {"text": "lorazepam"},
                                 "strength": {"numerator": {"value": 2, "unit": "mg",
                                                            "code": "mg"},
                                              "denominator": {"value": 1, "unit": "tablet"}}}]}
    request = med_request("a", None, [dosage(1, "{tbl}", 1)],
                          medicationReference={"reference": "#med1"}, contained=[contained])
    shared = {"resourceType": "Medication", "id": "med2", "code": {"text": "Nardil 15 MG"}}
    statement = med_statement("b", {}, None, medicationReference={"reference":
                                                                  "Medication/med2"})
    del statement["medicationCodeableConcept"]
    result = run(request, shared, statement)
    assert result.patient["benzo_dose_mg"] == pytest.approx(20.0)
    assert result.patient["maoi"] is True


@pytest.mark.parametrize(("concept", "feature"), [
    (med_concept("phenelzine 15 MG Oral Tablet"), "maoi"),
    (med_concept("Emsam transdermal"), "maoi"),
    (med_concept(rxnorm="6901"), "stimulant"),
    (med_concept("Vyvanse 30 MG"), "stimulant"),
    (med_concept("Adderall"), "stimulant"),
    (med_concept(rxnorm="7804", display="oxycodone"), "opioid"),
    (med_concept("buprenorphine / naloxone sublingual film"), "opioid"),
    (med_concept(rxnorm="10689"), "opioid"),
])
def test_caution_flags(concept, feature):
    result = run(med_statement("m", concept, None))
    assert result.patient[feature] is True
    assert "benzo_dose_mg" in result.missing


def test_stopped_and_not_taken_medications_are_not_current():
    result = run(med_statement("a", med_concept("oxycodone"), None, status="stopped"),
                 med_statement("b", med_concept("lorazepam"), [dosage(1)], status="not-taken"),
                 med_request("c", med_concept("phenelzine"), [dosage(15)], status="cancelled"))
    for name in ("opioid", "benzo_dose_mg", "maoi"):
        assert name in result.missing


def test_benzodiazepine_without_dose_leaves_dose_missing():
    result = run(med_statement("m", med_concept("alprazolam"), None))
    assert "benzo_dose_mg" in result.missing
    assert any("alprazolam found" in w and "cannot be calculated" in w
               for w in result.warnings)


def test_tablets_without_strength_leave_dose_missing():
    result = run(med_statement("m", med_concept("lorazepam"), [dosage(1, "{tbl}", 2)]))
    assert "benzo_dose_mg" in result.missing


def test_midazolam_has_no_equivalence_so_dose_is_missing():
    result = run(med_statement("m", med_concept(rxnorm="6960"), [dosage(5)]))
    assert "benzo_dose_mg" in result.missing


def test_as_needed_dose_is_flagged():
    result = run(med_statement("m", med_concept("lorazepam"),
                               [dosage(1, "mg", 1, asNeededBoolean=True)]))
    assert result.patient["benzo_dose_mg"] == pytest.approx(10.0)
    assert any("as needed" in w for w in result.warnings)


def test_z_drug_is_not_a_benzodiazepine():
    result = run(med_statement("m", med_concept("zolpidem 10 MG"), [dosage(10)]))
    assert "benzo_dose_mg" in result.missing
    assert any("Z-drug" in w for w in result.warnings)


def test_equivalence_table_documents_a_source_for_every_entry():
    for drug in fhir_codes.DRUGS:
        if drug.drug_class == "benzodiazepine":
            assert drug.source, drug.name
            if drug.equivalent_to_10mg_diazepam is None:
                assert "unsourced" in drug.source
