"""Issue 25: terminology as data with hierarchy, and every unmapped code reported."""

from __future__ import annotations

import pytest
from fhir_builders import (
    ICD10CM,
    REF_DATE,
    SNOMED,
    bundle,
    condition,
    med_concept,
    med_request,
    observation,
    patient,
)

from interop.fhir import codes
from interop.fhir.importer.batch import import_fhir
from interop.fhir.importer.patient import import_bundle
from interop.fhir.terminology import valuesets


def run(*resources):
    return import_bundle(bundle([patient(), *resources]), reference_date=REF_DATE)


@pytest.mark.parametrize(("system", "code", "feature", "value"), [
    (SNOMED, "361055000", "substance_use", "active"),          # misuses drugs (Synthea)
    (SNOMED, "10939881000119105", "substance_use", "active"),  # unhealthy alcohol use
    (SNOMED, "5602001", "substance_use", "active"),            # opioid abuse
    (SNOMED, "80583007", "dx_chronic_anxiety", True),          # severe anxiety (panic)
    (SNOMED, "278860009", "dx_chronic_pain", True),            # chronic low back pain
    (SNOMED, "1121000119107", "dx_chronic_pain", True),        # chronic neck pain
    (SNOMED, "88805009", "heart_disease", "severe"),           # chronic congestive HF
    (ICD10CM, "F41.0", "dx_chronic_anxiety", True),            # panic disorder (CM child)
    (ICD10CM, "F10.20", "substance_use", "active"),            # range F10-F19 expanded
    (ICD10CM, "F25.0", "psychosis_history", True),             # range F20-F29 expanded
    ("http://hl7.org/fhir/sid/icd-10", "F41.0", "dx_chronic_anxiety", True),  # WHO prefix
])
def test_descendants_land_in_their_input(system, code, feature, value):
    result = run(condition("c1", system, code))
    assert result.patient[feature] == value
    assert result.unmapped == []


def test_ischaemic_heart_disease_is_recorded_with_a_warning_not_dropped():
    result = run(condition("c1", SNOMED, "414545008"))
    assert "heart_disease" in result.missing
    assert any("Condition/c1 (SNOMED 414545008)" in w for w in result.warnings)
    assert result.unmapped == []
    assert result.coded["Condition"] == {"mapped": 1, "unmapped": 0}


def test_a_more_specific_heart_code_settles_severity():
    result = run(condition("c1", SNOMED, "414545008"), condition("c2", SNOMED, "22298006"))
    assert result.patient["heart_disease"] == "severe"


def test_nicotine_is_excluded_from_the_substance_range_and_reported():
    result = run(condition("c1", ICD10CM, "F17.210"))
    assert "substance_use" in result.missing
    assert [(u["system"], u["code"]) for u in result.unmapped] == [(ICD10CM, "F17.210")]


def test_every_unmapped_code_is_reported_by_system_code_display_and_counted():
    diabetes = condition("c1", SNOMED, "44054006")
    diabetes["code"]["coding"][0]["display"] = "Diabetes mellitus type 2"
    again = {**diabetes, "id": "c2"}
    statin = med_request("m1", med_concept("atorvastatin 20 MG Oral Tablet", "617311"), [])
    lab = observation("o1", "2339-0", {"value": 5.4, "unit": "mmol/L"})
    result = run(diabetes, again, statin, lab, condition("c3", SNOMED, "47505003"))
    by_code = {u["code"]: u for u in result.unmapped}
    assert by_code["44054006"] == {"file": "bundle",
                                   "resource_type": "Condition", "system": SNOMED,
                                   "code": "44054006", "display": "Diabetes mellitus type 2",
                                   "count": 2}
    assert by_code["617311"]["resource_type"] == "MedicationRequest"
    assert by_code["2339-0"]["resource_type"] == "Observation"
    assert result.coded["Condition"] == {"mapped": 1, "unmapped": 2}
    line = next(w for w in result.warnings if "map to no model input" in w)
    assert "SNOMED 44054006 'Diabetes mellitus type 2' ×2" in line
    assert "RxNorm 617311" in line and "LOINC 2339-0" in line


def test_unmapped_codes_are_counted_per_file_in_a_bulk_folder(tmp_path):
    from synthea_like import bulk_export, write_ndjson
    from synthea_like import condition as sy_condition

    bulk_export(tmp_path)
    extra = [sy_condition("c1-dm", "Patient/p1", SNOMED, "44054006", "Diabetes"),
             sy_condition("c1-dm2", "Patient/p1", SNOMED, "44054006", "Diabetes")]
    write_ndjson(tmp_path / "Condition.001.ndjson", extra)
    report = import_fhir(tmp_path)
    p1 = next(r for r in report.results if r.fhir_patient_id == "p1")
    files = {u["file"]: u["count"] for u in p1.unmapped if u["code"] == "44054006"}
    assert files == {"Condition.001.ndjson": 2}
    assert any(line.startswith("  warning: Condition.001.ndjson: 2 coded Condition")
               for line in report.lines())


@pytest.mark.parametrize(("concept", "feature"), [
    (med_concept(None, "856907"), "opioid"),  # Vicodin by product code alone
    ({"coding": [{"system": codes.ATC, "code": "N02AA05"}]}, "opioid"),  # oxycodone by ATC
    (med_concept("Norco 5/325 tablet"), "opioid"),  # brand of hydrocodone/APAP
])
def test_opioids_from_products_atc_and_brands(concept, feature):
    result = run(med_request("m1", concept, []))
    assert result.patient[feature] is True
    assert result.unmapped == []


def test_value_set_files_name_a_source_for_every_code():
    for name in ("conditions.json", "medications.json"):
        doc = valuesets.read(name)
        assert doc["version"] and doc["sources"]
    groups = valuesets.condition_groups()
    assert any("414545008" in g.snomed for g in groups)
    assert all(g.snomed or g.icd10cm for g in groups)


def test_a_value_set_with_a_code_icd10cm_does_not_have_is_refused():
    doc = valuesets.read("conditions.json")
    doc["groups"][0]["icd10"] = [{"code": "F99.99", "display": "x", "source": "icd10cm"}]
    with pytest.raises(valuesets.TerminologyError, match="F99.99"):
        valuesets.expand(doc)


def test_the_committed_icd10cm_expansion_is_the_package_s_expansion_of_the_file():
    fresh = valuesets.expand(valuesets.read("conditions.json"))
    stored = valuesets.read(valuesets.EXPANDED)
    assert fresh["groups"] == stored["groups"]
    assert stored["made_from"]["conditions.json"] == valuesets.read("conditions.json")["version"]
    substance = next(g for g in stored["groups"] if g["key"] == "substance_use")
    assert "F10239" in substance["icd10cm"] and not any(c.startswith("F17")
                                                        for c in substance["icd10cm"])


def test_a_stale_expansion_stops_the_load(monkeypatch):
    monkeypatch.setattr(valuesets, "_digest", lambda name: "0" * 64)
    valuesets.condition_groups.cache_clear()
    try:
        with pytest.raises(valuesets.TerminologyError, match="was not made from"):
            valuesets.condition_groups()
    finally:
        monkeypatch.undo()
        valuesets.condition_groups.cache_clear()


def test_a_code_without_a_source_is_refused(monkeypatch):
    doc = valuesets.read("conditions.json")
    doc["groups"][0]["snomed"][0]["source"] = "somewhere"
    real = valuesets.read
    monkeypatch.setattr(valuesets, "read",
                        lambda name: doc if name == "conditions.json" else real(name))
    valuesets.condition_groups.cache_clear()
    try:
        with pytest.raises(valuesets.TerminologyError, match="no known source"):
            valuesets.condition_groups()
    finally:
        monkeypatch.undo()
        valuesets.condition_groups.cache_clear()


def test_the_cli_report_gives_mapped_and_unmapped_counts_per_resource_type(tmp_path):
    from synthea_like import bulk_export

    bulk_export(tmp_path)
    lines = import_fhir(tmp_path).lines()
    assert any(line.startswith("  coded records: Condition 2 mapped / 0 unmapped")
               for line in lines)


def test_the_cli_lists_every_unmapped_code_on_request(home):
    from cli_helpers import run
    from synthea_like import bulk_export, write_ndjson
    from synthea_like import condition as sy_condition

    bulk_export(home / "export")
    many = [sy_condition(f"c-x{n}", "Patient/p1", SNOMED, f"1000{n}", f"Thing {n}")
            for n in range(10)]
    write_ndjson(home / "export" / "Condition.001.ndjson", many)
    code, short, err = run("import-fhir", str(home / "export"), "--dry-run")
    assert code == 0, err
    assert "and 2 more code(s) (kapcds import-fhir --list-unmapped lists them)" in short
    code, full, err = run("import-fhir", str(home / "export"), "--dry-run", "--list-unmapped")
    assert code == 0, err
    listed = next(line for line in full.splitlines() if line.startswith("  unmapped: "))
    assert all(f"SNOMED 1000{n} " in listed for n in range(10))
