"""Bundles and NDJSON: types, unrelated resources, patient selection, errors, gaps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fhir_builders import (
    PID,
    REF_DATE,
    bundle,
    full_record,
    ndjson,
    observation,
    patient,
    quantity,
    unrelated,
)

from interop.fhir.importer.patient import (
    FhirImportError,
    blocking_fields,
    can_predict,
    can_screen,
    import_bundle,
    import_ndjson,
    import_ndjson_all,
    screen_blocking_fields,
)
from models.contract import schema

FOUND = {"age": 45, "sex": "female", "bmi": 31.2, "dx_trd": True, "phq9_baseline": 19,
         "gad7_baseline": 13, "systolic_bp": 128, "diastolic_bp": 82, "heart_rate": 76}


@pytest.mark.parametrize("btype", ["collection", "transaction", "searchset", "batch"])
def test_bundle_types(btype):
    result = import_bundle(bundle(full_record(), btype), reference_date=REF_DATE)
    assert {k: result.patient[k] for k in FOUND} == FOUND
    assert result.fhir_patient_id == PID and result.name == "Alex Synthetic"


def test_json_text_bytes_and_path(tmp_path: Path):
    data = bundle(full_record())
    path = tmp_path / "export.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    for source in (json.dumps(data), json.dumps(data).encode(), path):
        assert import_bundle(source, reference_date=REF_DATE).patient["phq9_baseline"] == 19


def test_unrelated_resources_are_ignored_and_counted():
    result = import_bundle(bundle(full_record() + unrelated()), reference_date=REF_DATE)
    assert {k: result.patient[k] for k in FOUND} == FOUND
    assert result.ignored["Claim"] == 1 and result.ignored["SomeFutureType"] == 1
    assert not any("Claim" in s for s in result.source_ids)


def test_a_bundle_of_only_unrelated_resources_imports_nothing_without_failing():
    result = import_bundle(bundle(unrelated()), reference_date=REF_DATE)
    assert result.patient == {} and result.missing == schema.feature_names()
    assert any("no Patient resource" in w for w in result.warnings)


def test_missing_pieces_are_listed_never_defaulted():
    result = import_bundle(bundle(full_record()), reference_date=REF_DATE)
    assert set(result.found) == set(FOUND) == set(result.patient)
    assert "hypertension" in result.missing  # I10 does not say controlled or uncontrolled
    assert set(result.found) | set(result.missing) == set(schema.feature_names())
    assert not set(result.found) & set(result.missing)
    for name in ("route", "failed_ad_trials", "support_system", "pregnant", "maoi"):
        assert name in result.missing and name not in result.patient
    assert result.missing == [n for n in schema.feature_names() if n in result.missing]


def test_prediction_gate_lists_blocking_fields():
    result = import_bundle(bundle(full_record()), reference_date=REF_DATE)
    assert not can_predict(result) and not can_screen(result)
    blocking = blocking_fields(result)
    assert "route" in blocking and "failed_ad_trials" in blocking
    assert "maoi" not in blocking  # screening-only input: blocks the screen, not the model
    assert "maoi" in screen_blocking_fields(result)
    result.missing = [n for n in result.missing if n not in schema.model_feature_names()]
    assert can_predict(result) and blocking_fields(result) == []


def test_other_patients_resources_are_skipped():
    other = observation("o", "44261-6", 3, subject="Patient/someone-else", when="2025-05-30")
    result = import_bundle(bundle(full_record() + [other]), reference_date=REF_DATE)
    assert result.patient["phq9_baseline"] == 19


def test_fullurl_and_absolute_references_resolve_to_the_patient():
    resources = full_record()
    resources[1]["subject"] = {"reference": f"http://example.org/fhir/Patient/{PID}"}
    uuid_bundle = bundle(resources)
    uuid_bundle["entry"][0]["fullUrl"] = "urn:uuid:0d9a1c2e-0000-4000-8000-000000000001"
    uuid_bundle["entry"][2]["resource"]["subject"] = {
        "reference": "urn:uuid:0d9a1c2e-0000-4000-8000-000000000001"}
    result = import_bundle(uuid_bundle, reference_date=REF_DATE)
    assert result.patient["phq9_baseline"] == 19 and result.patient["gad7_baseline"] == 13


def test_two_patients_need_a_choice():
    resources = full_record() + [patient("pat-2", birth="1990-01-01", gender="male")]
    with pytest.raises(FhirImportError, match="2 Patient resources.*patient_id"):
        import_bundle(bundle(resources), reference_date=REF_DATE)
    chosen = import_bundle(bundle(resources), patient_id="pat-2", reference_date=REF_DATE)
    assert chosen.patient["sex"] == "male" and "phq9_baseline" in chosen.missing


@pytest.mark.parametrize(("birth", "age"), [("1980-03-15", 45), ("1980-06-02", 44),
                                            ("1980-01", 45), ("1980-09", 44)])
def test_age_on_the_reference_date(birth, age):
    result = import_bundle(bundle([patient(birth=birth)]), reference_date=REF_DATE)
    assert result.patient["age"] == age


def test_ambiguous_partial_birth_date_is_not_guessed():
    result = import_bundle(bundle([patient(birth="1980")]), reference_date=REF_DATE)
    assert "age" in result.missing
    assert any("44 or 45" in w for w in result.warnings)


def test_non_binary_gender_is_left_for_the_clinician():
    result = import_bundle(bundle([patient(gender="other")]), reference_date=REF_DATE)
    assert "sex" in result.missing and any("gender 'other'" in w for w in result.warnings)


def test_malformed_json_names_line_and_column():
    text = json.dumps(bundle(full_record()), indent=1)
    broken = text[:200] + "," + text[200:]
    with pytest.raises(FhirImportError, match=r"malformed JSON at line \d+ column \d+"):
        import_bundle(broken)


@pytest.mark.parametrize(("data", "message"), [
    ({"resourceType": "Patient"}, "expected resourceType Bundle"),
    ({"resourceType": "Bundle", "type": "history", "entry": []}, "not supported"),
    ([1, 2], "expected a JSON object"),
    ({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": 5}]},
     "entry 0: a resource must be a JSON object"),
    ({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"id": "x"}}]},
     "entry 0: the resource has no resourceType"),
    ({"resourceType": "Bundle", "type": "collection", "timestamp": "yesterday"},
     "invalid Bundle"),
])
def test_structurally_wrong_input_is_refused(data, message):
    with pytest.raises(FhirImportError, match=message):
        import_bundle(data)


def test_invalid_mapped_resource_names_the_entry_and_nothing_is_returned():
    resources = full_record()
    bad = observation("bad", "8867-4", quantity(70, "/min"))
    del bad["code"]
    resources.insert(3, bad)
    with pytest.raises(FhirImportError, match=r"entry 3: invalid Observation/bad: code"):
        import_bundle(bundle(resources))
    wrong_type = observation("bad2", "44261-6", None, valueQuantity={"value": "high"})
    with pytest.raises(FhirImportError, match="entry 1: invalid Observation/bad2"):
        import_bundle(bundle([patient(), wrong_type]))


def test_ndjson_single_text_and_lines():
    text = ndjson(full_record() + unrelated())
    for source in (text, text.encode(), text.splitlines()):
        result = import_ndjson(source, reference_date=REF_DATE)
        assert {k: result.patient[k] for k in FOUND} == FOUND


def test_ndjson_bulk_files_and_all_patients(tmp_path: Path):
    resources = full_record() + full_record("pat-2")
    for res in resources[len(full_record()):]:
        res["id"] = res["id"] + "-2" if res["resourceType"] != "Patient" else res["id"]
    files = []
    for rtype in ("Patient", "Observation", "Condition"):
        path = tmp_path / f"{rtype}.ndjson"
        path.write_text(ndjson([r for r in resources if r["resourceType"] == rtype]) + "\n")
        files.append(path)
    results = import_ndjson_all(files, reference_date=REF_DATE)
    assert [r.fhir_patient_id for r in results] == [PID, "pat-2"]
    assert all(r.patient["phq9_baseline"] == 19 for r in results)
    assert results[1].evidence["phq9_baseline"] == ["Observation/phq9-2"]


def test_ndjson_errors_name_the_file_and_line(tmp_path: Path):
    path = tmp_path / "Observation.ndjson"
    path.write_text(ndjson([patient()]) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(FhirImportError, match=r"Observation.ndjson line 3: malformed JSON"):
        import_ndjson([path])
    bad = observation("bad", "44261-6", 10)
    bad["status"] = 7
    with pytest.raises(FhirImportError, match=r"ndjson line 2: invalid Observation/bad"):
        import_ndjson(ndjson([patient(), bad]))
    with pytest.raises(FhirImportError, match="a Bundle inside NDJSON"):
        import_ndjson(ndjson([bundle([patient()])]))


def test_large_bulk_export_is_grouped_by_patient():
    resources = []
    for i in range(300):
        pid = f"p{i}"
        resources += [patient(pid, gender="male" if i % 2 else "female"),
                      observation(f"phq-{i}", "44261-6", i % 28, subject=f"Patient/{pid}"),
                      observation(f"hr-{i}", "8867-4", quantity(60 + i % 40, "/min"),
                                  subject=f"Patient/{pid}")]
    orphan = observation("orphan", "44261-6", 5)
    del orphan["subject"]
    results = import_ndjson_all(ndjson(resources + [orphan]), reference_date=REF_DATE)
    assert len(results) == 300
    assert [r.patient["phq9_baseline"] for r in results[:30]] == [i % 28 for i in range(30)]
    assert results[299].patient["heart_rate"] == 60 + 299 % 40
    assert results[0].evidence["phq9_baseline"] == ["Observation/phq-0"]
    assert any("name no patient" in w for w in results[0].warnings)
