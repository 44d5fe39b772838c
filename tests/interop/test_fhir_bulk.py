"""Bulk Data folders, multi-patient Bundles, single resources, content-detected formats."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fhir_builders import REF_DATE, bundle, full_record, observation
from synthea_like import (
    ICD10CM,
    SNOMED,
    bulk_export,
    condition,
    lorazepam_request,
    patient,
    vital,
    write_ndjson,
)

from interop.fhir.importer.batch import import_fhir
from interop.fhir.importer.parse import FhirImportError


def _by_id(report):
    return {r.fhir_patient_id: r for r in report.results}


def test_bulk_folder_finds_each_patients_conditions_and_medications(tmp_path: Path):
    expected = bulk_export(tmp_path / "export")
    report = import_fhir(tmp_path / "export", reference_date=REF_DATE)
    results = _by_id(report)
    assert sorted(results) == ["p1", "p2", "p3"]
    for pid, values in expected.items():
        got = {k: results[pid].patient.get(k) for k in values}
        assert got == values, pid
    assert results["p1"].patient["age"] == 50 and results["p2"].patient["sex"] == "male"
    assert results["p2"].evidence["benzo_dose_mg"] == ["MedicationRequest/mr2"]
    assert results["p2"].evidence["heart_disease"] == ["Condition/c2-ihd"]
    assert report.format == "FHIR R4 NDJSON" and "manifest.json" not in report.files
    assert report.ignored["Encounter"] == 2


def test_bulk_folder_reports_resources_naming_no_patient_of_the_export(tmp_path: Path):
    bulk_export(tmp_path / "export")
    report = import_fhir(tmp_path / "export", reference_date=REF_DATE)
    assert report.unattributed == [
        "Condition/c-ghost (Condition.000.ndjson line 6) names Patient/ghost, which is not a "
        "Patient in this import"]
    assert all(any("not imported" in w for w in r.warnings) for r in report.results)
    assert "dx_ptsd" not in {k for r in report.results for k in r.found}
    assert any("names Patient/ghost" in line for line in report.lines())


def test_a_condition_file_alone_is_reported_not_imported(tmp_path: Path):
    bulk_export(tmp_path / "export")
    with pytest.raises(FhirImportError, match=r"Condition\.000\.ndjson: 6 Condition "
                       r"resource\(s\) refer to 4 patients .* no Patient resource"):
        import_fhir(tmp_path / "export" / "Condition.000.ndjson")


def test_only_unmapped_types_is_no_patient_data(tmp_path: Path):
    path = write_ndjson(tmp_path / "Encounter.ndjson",
                        [{"resourceType": "Encounter", "id": "e", "status": "finished",
                          "class": {"code": "AMB"}}])
    with pytest.raises(FhirImportError, match="no patient data.*only Encounter 1"):
        import_fhir(path)


@pytest.mark.parametrize("btype", ["searchset", "collection", "transaction"])
def test_multi_patient_bundle_is_imported_patient_by_patient(btype):
    pids = ["a", "b", "c"]
    resources = [r for pid in pids for r in full_record(pid)]
    for index, res in enumerate(resources):
        if res["resourceType"] != "Patient":
            res["id"] = f"{res['id']}-{index}"
    report = import_fhir(bundle(resources, btype), reference_date=REF_DATE)
    assert [r.fhir_patient_id for r in report.results] == pids
    for result in report.results:
        assert result.patient["phq9_baseline"] == 19 and result.patient["dx_trd"] is True
        assert all(ref.endswith(tuple(f"-{i}" for i in range(len(resources))))
                   for ref in result.evidence["phq9_baseline"])
    assert len({r.evidence["phq9_baseline"][0] for r in report.results}) == 3
    assert report.unattributed == []


def test_transaction_bundle_with_urn_uuid_references_synthea_shape():
    uuids = {pid: f"urn:uuid:5cbc121b-cd71-4428-b8b7-31e53eba8{n:03d}"
             for n, pid in enumerate(["x", "y"])}
    entries = []
    for pid, full_url in uuids.items():
        entries.append({"fullUrl": full_url, "resource": patient(pid, "1970-01-01", "male", "X"),
                        "request": {"method": "POST", "url": "Patient"}})
        for res in (vital(f"hr-{pid}", full_url, "8867-4", "Heart rate", 80, "/min"),
                    condition(f"c-{pid}", full_url, ICD10CM, "I25.10", "CAD")):
            entries.append({"fullUrl": f"urn:uuid:{res['id']}", "resource": res,
                            "request": {"method": "POST", "url": res["resourceType"]}})
    report = import_fhir({"resourceType": "Bundle", "type": "transaction", "entry": entries},
                         reference_date=REF_DATE)
    results = _by_id(report)
    assert results["x"].patient["heart_rate"] == 80
    assert results["y"].patient["heart_disease"] == "stable"
    assert results["y"].evidence["heart_rate"] == ["Observation/hr-y"]


def test_a_single_observation_is_accepted():
    obs = observation("phq", "44261-6", 17, subject="Patient/solo")
    report = import_fhir(json.dumps(obs), reference_date=REF_DATE)
    (result,) = report.results
    assert result.patient == {"phq9_baseline": 17}
    assert result.fhir_patient_id == "solo" and report.format == "FHIR R4 resource"
    assert any("no Patient resource" in w and "age and sex are missing" in w
               for w in result.warnings)


def test_a_single_patient_is_accepted():
    report = import_fhir(patient("only", "1990-06-01", "female", "Ng"), reference_date=REF_DATE)
    (result,) = report.results
    assert result.patient == {"age": 35, "sex": "female"} and result.name == "Sam Ng"


def test_ndjson_in_a_json_file_is_told_by_content(tmp_path: Path):
    path = write_ndjson(tmp_path / "export.json", full_record("n1") + full_record("n2"))
    report = import_fhir(path, reference_date=REF_DATE)
    assert [r.fhir_patient_id for r in report.results] == ["n1", "n2"]
    assert report.format == "FHIR R4 NDJSON"


def test_malformed_documents_still_name_line_and_column(tmp_path: Path):
    text = json.dumps(bundle(full_record()), indent=1)
    path = tmp_path / "broken.ndjson"
    path.write_text(text[:200] + "," + text[200:], encoding="utf-8")
    with pytest.raises(FhirImportError, match=r"broken.ndjson: malformed JSON at line \d+ "
                                              r"column \d+"):
        import_fhir(path)
    lines = tmp_path / "lines.json"
    lines.write_text(json.dumps(patient("z", "1990-01-01", "male", "Z")) + "\n{oops\n")
    with pytest.raises(FhirImportError, match=r"lines.json line 2: malformed JSON"):
        import_fhir(lines)


@pytest.mark.parametrize("ref", ["Patient/r1", "Patient/r1/_history/3",
                                 "https://ehr.example.org/fhir/Patient/r1",
                                 "http://other.example/base/Patient/r1/_history/9",
                                 "urn:uuid:r1",
                                 "Patient?identifier=https://github.com/synthetichealth/synthea|r1"])
def test_every_reference_form_finds_the_patient(ref):
    resources = [patient("r1", "1980-01-01", "female", "R"), patient("r2", "1981-01-01",
                                                                     "male", "S"),
                 condition("c", ref, SNOMED, "47505003", "PTSD")]
    results = _by_id(import_fhir(bundle(resources, full_urls=False), reference_date=REF_DATE))
    assert results["r1"].patient["dx_ptsd"] is True
    assert "dx_ptsd" in results["r2"].missing


@pytest.mark.parametrize("med", [
    {"medicationReference": {"reference": "#lzp"},
     "contained": [{"resourceType": "Medication", "id": "lzp",
                    "code": {"text": "lorazepam 1 MG Oral Tablet"}}]},
    {"medicationReference": {"reference": "Medication/lzp/_history/2"}},
    {"medicationReference": {"reference": "urn:uuid:lzp"}},
])
def test_medication_references_resolve_in_every_form(med):
    resources = [patient("m", "1980-01-01", "female", "M"),
                 lorazepam_request("rq", "Patient/m", 2, **med)]
    if "contained" not in med:
        resources.append({"resourceType": "Medication", "id": "lzp",
                          "code": {"text": "lorazepam 1 MG Oral Tablet"}})
    (result,) = import_fhir(bundle(resources, full_urls=False), reference_date=REF_DATE).results
    assert result.patient["benzo_dose_mg"] == 20.0
    assert any("without a unit is read as tablets" in w for w in result.warnings)


def test_a_unitless_dose_of_a_non_solid_product_stays_missing():
    concept = {"medicationCodeableConcept": {"text": "lorazepam 2 MG/ML Injectable Solution"}}
    resources = [patient("m", "1980-01-01", "female", "M"),
                 lorazepam_request("rq", "Patient/m", 2, **concept)]
    (result,) = import_fhir(bundle(resources), reference_date=REF_DATE).results
    assert "benzo_dose_mg" in result.missing
