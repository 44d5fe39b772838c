"""Issue 25 (3): deceased patients, age basis, identity across sources, unnamed patients,
a dry run that runs the real import, and update lines without placeholders."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from cli_helpers import run
from fhir_builders import PID, REF_DATE, bundle, observation, patient, quantity
from sqlalchemy.orm import Session

from interop.fhir.importer.batch import import_fhir
from interop.fhir.importer.patient import import_bundle
from interop.fhir.importer.store import DeceasedPatientError, store_import
from records import repository


def local(resources):
    """A Bundle whose entries have no absolute fullUrl (a file exported without a server)."""
    data = bundle(resources)
    for entry in data["entry"]:
        entry.pop("fullUrl", None)
    return data


def _patient(pid, **extra):
    res = patient(pid, **extra)
    res.setdefault("name", [{"family": "Doe", "given": ["Sam"]}])
    return res


def test_a_deceased_patient_is_refused_as_a_candidate_with_the_reason():
    dead = _patient("d1", birth="1930-01-01", deceasedDateTime="1971-03-01")
    report = import_fhir(bundle([dead, _patient("a1")]), reference_date=REF_DATE)
    assert [r.fhir_patient_id for r in report.results] == ["a1"]
    assert report.refused[0].patient["age"] == 41  # age at death, not 95 today
    assert report.refused[0].extras["age_on"]["basis"] == "date of death"
    assert any("recorded as deceased (1971-03-01); not imported" in line
               for line in report.lines())


def test_storing_a_deceased_patient_directly_is_refused(db: Session):
    result = import_bundle(bundle([_patient("d1", deceasedBoolean=True)]))
    with pytest.raises(DeceasedPatientError, match="deceased"):
        store_import(db, result)
    assert repository.patient_count(db) == 0


def test_age_says_which_date_it_is_on():
    result = import_bundle(bundle([_patient("a1", birth="1980-03-15")]))
    assert result.extras["age_on"] == {"date": date.today().isoformat(),
                                       "basis": "import date"}
    given = import_bundle(bundle([_patient("a1", birth="1980-03-15")]),
                          reference_date=REF_DATE)
    assert given.patient["age"] == 45 and given.extras["age_on"]["basis"] == "reference date"


def test_the_same_bare_fhir_id_from_two_sources_is_two_patients(db: Session):
    one = import_bundle(local([_patient("123")]), source="clinic-a.json")
    two = import_bundle(local([_patient("123", name=[{"family": "Other"}])]),
                        source="clinic-b.json")
    first, second = store_import(db, one), store_import(db, two)
    assert first.created and second.created
    assert first.patient.patient_id != second.patient.patient_id
    again = store_import(db, import_bundle(local([_patient("123")]), source="clinic-a.json"))
    assert not again.created and again.matched_on == "FHIR id clinic-a.json|123"


def test_meta_source_names_the_origin_and_identifiers_match_across_sources(db: Session):
    ident = [{"system": "urn:oid:2.16.840.1.113883.4.1", "value": "999-01-0001"}]
    one = import_bundle(bundle([_patient("x1", identifier=ident,
                                         meta={"source": "https://ehr-a.example/fhir"})]))
    assert one.origin == "https://ehr-a.example/fhir"
    store_import(db, one)
    two = import_bundle(bundle([_patient("other-id", identifier=ident)]), source="b.json")
    outcome = store_import(db, two)
    assert not outcome.created
    assert outcome.matched_on == "identifier urn:oid:2.16.840.1.113883.4.1|999-01-0001"


def test_an_identifier_without_a_system_is_not_matched_across_sources(db: Session):
    ident = [{"value": "MRN-7"}]
    store_import(db, import_bundle(local([_patient("p1", identifier=ident)]), source="a"))
    other = store_import(db, import_bundle(local([_patient("p9", identifier=ident)]),
                                           source="b"))
    assert other.created


def test_an_update_line_never_shows_a_gap_placeholder_as_the_old_value(db: Session):
    first = import_bundle(bundle([_patient(PID)]), reference_date=REF_DATE)
    store_import(db, first)
    later = import_bundle(bundle([_patient(PID), observation(
        "o1", "8480-6", quantity(107, "mm[Hg]"))]), reference_date=REF_DATE)
    summary = store_import(db, later).summary()
    assert "systolic_bp (missing) → 107" in summary
    assert "124" not in summary


def _unnamed_file(tmp_path, **extra):
    res = patient("anon-1", **extra)
    res.pop("name", None)
    path = tmp_path / "unnamed.json"
    path.write_text(json.dumps(bundle([res])))
    return path


def test_an_unnamed_patient_is_named_from_its_id_in_dry_run_and_real_import(home):
    path = _unnamed_file(home)
    code, dry, err = run("import-fhir", str(path), "--dry-run")
    assert code == 0, err
    assert re.search(r"dry run, nothing saved: would store as KAP-\d+", dry)
    code, out, err = run("import-fhir", str(path))
    assert code == 0, err
    assert re.search(r"^saved as KAP-\d+", out, re.MULTILINE)


def test_the_name_option_names_an_unnamed_patient(home):
    path = _unnamed_file(home)
    code, out, err = run("import-fhir", str(path), "--name", "Robin Example")
    assert code == 0, err
    from records.db import make_engine, session_factory
    from records.tables.clinical import Patient

    engine = make_engine(f"sqlite:///{home / 'home' / 'kapcds.sqlite3'}")
    with session_factory(engine)() as session:
        imported = [p.name for p in session.query(Patient).all() if p.import_source]
        assert imported == ["Robin Example"]
    engine.dispose()


def test_dry_run_fails_exactly_where_the_real_import_fails(home):
    path = _unnamed_file(home)
    data = json.loads(path.read_text())
    data["entry"][0]["resource"].pop("id")
    path.write_text(json.dumps(data))
    dry = run("import-fhir", str(path), "--dry-run")
    real = run("import-fhir", str(path))
    assert dry[0] == real[0] == 1
    assert "give a name (kapcds import-fhir --name" in dry[2]
    assert dry[2].splitlines()[-1] == real[2].splitlines()[-1]


def test_cds_hooks_matches_a_stored_patient_by_source_and_id_or_identifier(db: Session):
    from interop.cds_hooks.fetch import stored_patient

    ident = [{"system": "urn:mrn:clinic-a", "value": "42"}]
    result = import_bundle(local([_patient("ehr-1", identifier=ident)]),
                           source="https://ehr-a.example/fhir")
    kap_id = store_import(db, result).patient.patient_id
    engine = db.get_bind()
    assert stored_patient(engine, "ehr-1") is None  # a bare id matches nothing
    assert stored_patient(engine, "ehr-1", origins=("https://other.example/fhir",)) is None
    assert stored_patient(engine, "ehr-1",
                          origins=("https://ehr-a.example/fhir/",))[0] == kap_id
    assert stored_patient(engine, "different-id",
                          identifiers=("urn:mrn:clinic-a|42",))[0] == kap_id


def test_cds_hooks_finds_identifiers_with_non_ascii_and_wildcard_characters(db: Session):
    """The store narrows the candidates by the JSON text of ``import_source`` (issue 31):
    identifiers that JSON escapes, and SQL wildcards, still match exactly themselves."""
    from interop.cds_hooks.fetch import stored_patient

    ident = [{"system": "urn:mrn:klinik-ö", "value": "Müller_%7"}]
    result = import_bundle(local([_patient("ehr-7", identifier=ident)]),
                           source="https://ehr-b.example/fhir")
    kap_id = store_import(db, result).patient.patient_id
    engine = db.get_bind()
    assert stored_patient(engine, "x", identifiers=("urn:mrn:klinik-ö|Müller_%7",))[0] == kap_id
    assert stored_patient(engine, "x", identifiers=("urn:mrn:klinik-ö|MüllerX%7",)) is None
    assert stored_patient(engine, "x", identifiers=("urn:mrn:klinik-ö|Müller_X7",)) is None
    assert stored_patient(engine, "ehr-7", origins=("https://ehr-b.example/fhir",))[0] == kap_id
