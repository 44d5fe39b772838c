"""Issue 25 (6): a Synthea-style Bulk folder made in the test — every planted fact lands in its
input, is warned about, or is reported as unmapped; nothing is dropped in silence."""

from __future__ import annotations

import logging
from datetime import date

import pytest
from synthea_like import synthea_folder

from interop.fhir.importer.batch import import_fhir

log = logging.getLogger(__name__)


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    folder = tmp_path_factory.mktemp("synthea")
    planted = synthea_folder(folder)
    return planted, import_fhir(folder, reference_date=date(2025, 6, 1))


def _by_id(report):
    return {r.fhir_patient_id: r for r in report.results}


def test_every_planted_fact_lands_in_its_input(sample):
    planted, report = sample
    results = _by_id(report)
    for pid, facts in planted["facts"].items():
        for feature, value in facts.items():
            assert results[pid].patient.get(feature) == value, (pid, feature)


def test_every_other_code_is_reported_as_unmapped(sample):
    planted, report = sample
    results = _by_id(report)
    for pid, expected in planted["unmapped"].items():
        got = {(u["resource_type"], u["code"]) for u in results[pid].unmapped}
        assert got == expected, pid


def test_codes_that_need_the_clinician_are_warned_about(sample):
    planted, report = sample
    results = _by_id(report)
    for pid, starts in planted["warned"].items():
        for start in starts:
            assert any(start in w for w in results[pid].warnings), (pid, start)


def test_the_deceased_patient_is_refused_and_the_error_file_is_shown(sample):
    planted, report = sample
    assert [r.fhir_patient_id for r in report.refused] == planted["deceased"]
    assert all(any("partial export?" in w for w in r.warnings) for r in report.results)
    assert "OperationOutcome" not in report.ignored


def test_mapped_and_unmapped_counts_per_resource_type(sample):
    _, report = sample
    totals: dict[str, dict[str, int]] = {}
    for result in report.results:
        for rtype, counts in result.coded.items():
            box = totals.setdefault(rtype, {"mapped": 0, "unmapped": 0})
            box["mapped"] += counts["mapped"]
            box["unmapped"] += counts["unmapped"]
    log.info("Synthea-style sample: %s", totals)
    assert totals == {"Condition": {"mapped": 11, "unmapped": 3},
                      "MedicationRequest": {"mapped": 11, "unmapped": 1},
                      "Observation": {"mapped": 3, "unmapped": 1}}
