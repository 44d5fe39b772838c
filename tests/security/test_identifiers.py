"""One patient id rule at every entry point; output paths only from safe names; a
re-imported FHIR patient is matched, not duplicated; terminal output is escaped."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from security_helpers import patient

from interop.fhir.importer.patient import import_bundle
from interop.fhir.importer.store import ExistingPatientError, store_import
from kapcds.commands_interop import default_report_path, terminal_text
from models.contract.schema import defaults, is_valid_patient_id, patient_id_problem
from models.contract.validation import InputValidationError, validate_patients, validate_sessions
from records import repository
from records.db import make_engine, session_factory
from records.migrate import upgrade
from records.tables.clinical import Patient

HOSTILE = ["../../../../tmp/x", "a" * 33, "<b>x</b>", "KAP 1", "\x1b[31mred", ".hidden",
           "-rf", "=HYPERLINK(1)", "a/b", "KAP\u202e1", "x" * 5000]
GOOD = ["KAP-00001", "a", "x.y_z-1", "A" * 32, "FHIR-0123abcd"]


@pytest.mark.parametrize("value", HOSTILE)
def test_the_rule_refuses_hostile_ids(value: str) -> None:
    assert not is_valid_patient_id(value) and "not a valid patient id" in patient_id_problem(
        value)


@pytest.mark.parametrize("value", GOOD)
def test_the_rule_accepts_ordinary_ids(value: str) -> None:
    assert is_valid_patient_id(value)


@pytest.mark.parametrize("value", HOSTILE)
def test_csv_and_forms_refuse_hostile_ids(value: str) -> None:
    frame = pd.DataFrame([{**patient(1), "patient_id": value}])
    with pytest.raises(InputValidationError) as info:
        validate_patients(frame)
    assert [e.column for e in info.value.errors] == ["patient_id"]
    sessions = pd.DataFrame([{"patient_id": value}])
    with pytest.raises(InputValidationError) as info:
        validate_sessions(sessions)
    assert any(e.column == "patient_id" and "not a valid patient id" in e.message
               for e in info.value.errors)


@pytest.fixture
def db(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    upgrade(engine)
    with session_factory(engine)() as session:
        yield session
    engine.dispose()


def test_the_store_refuses_hostile_ids(db: Any) -> None:
    with pytest.raises(InputValidationError, match="not a valid patient id"):
        repository.add_patient(db, patient(1, patient_id="../../../../tmp/x"))
    assert repository.patient_count(db) == 0


def _bundle(pid: str, phq9: int = 19, identifier: str | None = "MRN-1") -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": "Patient", "id": pid, "gender": "female",
                                "birthDate": "1980-03-15",
                                "name": [{"family": "Synthetic", "given": ["Alex"]}]}
    if identifier:
        resource["identifier"] = [{"system": "urn:clinic:mrn", "value": identifier}]
    phq = {"resourceType": "Observation", "id": "phq9", "status": "final",
           "code": {"coding": [{"system": "http://loinc.org", "code": "44261-6"}]},
           "subject": {"reference": f"Patient/{pid}"}, "effectiveDateTime": "2025-05-01",
           "valueInteger": phq9}
    return {"resourceType": "Bundle", "type": "collection",
            "entry": [{"resource": resource}, {"resource": phq}]}


def test_a_reimported_fhir_patient_is_matched_and_updated_not_duplicated(db: Any) -> None:
    first = store_import(db, import_bundle(_bundle("pat-1")))
    again = store_import(db, import_bundle(_bundle("pat-1")))
    changed = store_import(db, import_bundle(_bundle("other-server-id", phq9=23)))
    assert first.created and not again.created and not changed.created
    assert repository.patient_count(db) == 1
    assert again.changes == {} and "no changes" in again.summary()
    assert changed.matched_on == "identifier urn:clinic:mrn|MRN-1"
    assert changed.changes == {"phq9_baseline": (19, 23)}
    assert "phq9_baseline 19 → 23" in changed.summary()
    assert repository.get_patient(db, first.patient.patient_id).phq9_baseline == 23


def test_without_identifiers_the_fhir_id_matches_and_refusal_saves_nothing(db: Any) -> None:
    store_import(db, import_bundle(_bundle("pat-9", identifier=None)))
    # Issue 25: the FHIR id is matched within its source (here the default input name).
    with pytest.raises(ExistingPatientError, match="already stored as KAP-00001 .same FHIR "
                       r"id bundle\|pat-9"):
        store_import(db, import_bundle(_bundle("pat-9", identifier=None, phq9=25)),
                     on_match="refuse")
    assert repository.get_patient(db, "KAP-00001").phq9_baseline == 19
    assert repository.patient_count(db) == 1


def test_a_hostile_fhir_id_never_becomes_a_local_id(db: Any) -> None:
    result = import_bundle(_bundle("safe-for-fhir"))
    result = replace(result, fhir_patient_id="../../../../tmp/x", name=None)
    saved = store_import(db, result).patient
    assert is_valid_patient_id(saved.patient_id)
    assert saved.import_source["fhir_patient_id"] == "../../../../tmp/x"  # original kept
    assert "/" not in saved.name and saved.name.startswith("FHIR Patient FHIR-")


def test_report_paths_stay_in_the_output_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    for value in HOSTILE + GOOD:
        path = default_report_path(value, out)
        assert path.parent == out.resolve() and path.name.endswith("-report.pdf")
    assert default_report_path("KAP-00001", out).name == "KAP-00001-report.pdf"


def test_kapcds_report_with_a_hostile_stored_id_writes_inside_the_folder(
        tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """A store from before the rule (or edited by hand) holds a traversal id."""
    escape = Path("/tmp") / f"kapcds-escape-{uuid.uuid4().hex[:8]}"
    hostile = f"../../../../../../../..{escape}"
    engine = make_engine()
    upgrade(engine)
    with session_factory(engine)() as session:
        session.add(Patient(patient_id=hostile, name="Legacy", is_synthetic=True,
                            data_gaps=[], **defaults()))
        session.commit()
    engine.dispose()
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.chdir(out)
    result = cli("report", hostile)
    assert result.returncode == 0, result.stderr
    written = [p for p in out.iterdir()]
    assert len(written) == 1 and written[0].name.startswith("patient-")
    assert not Path(f"{escape}-report.pdf").exists()


def test_terminal_text_escapes_control_characters() -> None:
    name = "Alex\x1b]0;owned\x07\x1b[2J\rEvil\u202eName"
    shown = terminal_text(name)
    assert "\x1b" not in shown and "\r" not in shown and "\u202e" not in shown
    assert shown.startswith("Alex\\x1b]0;owned\\x07") and "\\u202e" in shown


def test_import_fhir_prints_names_escaped_and_audits_failures(
        tmp_path: Path, cli: Callable[..., Any]) -> None:
    data = _bundle("pat-1")
    data["entry"][0]["resource"]["name"] = [{"family": "\x1b[2JEvil", "given": ["Alex"]}]
    (tmp_path / "b.json").write_text(json.dumps(data))
    result = cli("import-fhir", str(tmp_path / "b.json"))
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout and "\\x1b[2JEvil" in result.stdout
    (tmp_path / "bad.json").write_text("{not json")
    failed = cli("import-fhir", str(tmp_path / "bad.json"))
    assert failed.returncode == 1
    from records.audit import trail as audit

    engine = make_engine()
    with session_factory(engine)() as session:
        entries = [e for e in audit.iter_entries(session) if e["action"] == "import"]
    engine.dispose()
    assert [e["outcome"] for e in entries] == ["success", "failure"]
    assert "bad.json" in entries[-1]["detail"]
