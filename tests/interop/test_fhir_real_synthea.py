"""Issue 25 on a real Synthea Bulk export (tests/data/synthea_bulk_10, 10 patients), not one
made in the test: every coded Condition and MedicationRequest is either mapped to a model
input or listed as unmapped (counted independently from the files: nothing is dropped in
silence), and what the model uses lands in its input.
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from interop.fhir.importer.batch import import_fhir

FOLDER = Path(__file__).resolve().parents[1] / "data" / "synthea_bulk_10"
TYPES = ("Condition", "MedicationRequest")


def _coded_lines(kind: str) -> Counter[str]:
    """Coded resources per patient id, read straight from the gzip file."""
    per_patient: Counter[str] = Counter()
    with gzip.open(FOLDER / f"{kind}.000.ndjson.gz", "rt", encoding="utf-8") as lines:
        for line in lines:
            resource = json.loads(line)
            concept = resource.get("code") or resource.get("medicationCodeableConcept") or {}
            if concept.get("coding"):
                subject = resource["subject"]["reference"].split("/")[-1].split(":")[-1]
                per_patient[subject] += 1
    return per_patient


@pytest.fixture(scope="module")
def report():
    return import_fhir(FOLDER, reference_date=date(2025, 9, 17))


def test_the_living_are_read_from_gzip_files_and_the_deceased_refused(report) -> None:
    """13 Patients in the file; 3 died (1971, 1989, 1994) and are refused by name."""
    assert len(report.results) == 10 and len(report.refused) == 3
    assert all(r.name for r in report.results)
    refused = [line for line in report.lines() if "not a treatment candidate" in line]
    assert len(refused) == 3 and all("deceased" in line for line in refused)


def test_an_opioid_in_a_real_export_is_recognised(report) -> None:
    """Meperidine 50 mg (RxNorm 861467) was listed as unmapped before it was in the
    opioid value set: found on this export, 2026-12-07."""
    everyone = [*report.results, *report.refused]
    assert not any(u["code"] == "861467" for r in everyone for u in r.unmapped)
    [taker] = [r for r in everyone if r.fhir_patient_id.startswith("79a66c97")]
    assert taker.coded["MedicationRequest"]["mapped"] == 1


@pytest.mark.parametrize("kind", TYPES)
def test_every_coded_record_is_mapped_or_listed_as_unmapped(report, kind: str) -> None:
    expected = _coded_lines(kind)
    for result in [*report.results, *report.refused]:
        counted = result.coded.get(kind, {"mapped": 0, "unmapped": 0})
        assert counted["mapped"] + counted["unmapped"] == expected[result.fhir_patient_id], (
            result.fhir_patient_id, kind, counted)
        listed = sum(u["count"] for u in result.unmapped if u["resource_type"] == kind)
        assert listed == counted["unmapped"], (result.fhir_patient_id, kind)
        assert all(u["system"] and u["code"] and u["display"] for u in result.unmapped)
    totals: Counter[str] = Counter()
    for result in [*report.results, *report.refused]:
        for key, value in result.coded.get(kind, {}).items():
            totals[key] += value
    assert totals["mapped"] + totals["unmapped"] == sum(expected.values())
    # Measured on this export (2026-12-07), all 13 patients: Condition 14 mapped / 541
    # unmapped (555 coded), MedicationRequest 2 / 1743 of 1745 (diazepam, meperidine). A
    # change is a terminology change: look at it.
    assert dict(totals) == {"Condition": {"mapped": 14, "unmapped": 541},
                            "MedicationRequest": {"mapped": 2, "unmapped": 1743}}[kind]


def test_valve_disease_is_recorded_as_heart_disease_to_complete(report) -> None:
    """Mitral valve regurgitation (SNOMED 48724000) is heart disease: kept as a gap with a
    warning naming the record, not listed among unrelated codes."""
    [patient] = [r for r in report.results if any("48724000" in w for w in r.warnings)]
    assert "heart_disease" in patient.missing
    assert not any("48724000" in u for u in patient.unmapped)


def test_what_the_model_uses_lands_in_its_input(report) -> None:
    hypertensive = [r for r in report.results if any("hypertension is recorded" in w
                                                      for w in r.warnings)]
    assert hypertensive, "Synthea's hypertension (SNOMED 59621000) is recognised"
    pain = [r for r in report.results if r.patient.get("dx_chronic_pain") is True]
    assert pain, "Synthea's chronic pain codes set dx_chronic_pain"
