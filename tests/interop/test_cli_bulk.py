"""`kapcds import-fhir` on a Bulk Data folder, a multi-patient Bundle and a lone file."""

from __future__ import annotations

import json
import re
from pathlib import Path

from cli_helpers import run
from synthea_like import bulk_export


def _stored(home: Path) -> list[dict]:
    from records.db import make_engine, session_factory
    from records.tables.clinical import Patient

    engine = make_engine(f"sqlite:///{home / 'home' / 'kapcds.sqlite3'}")
    with session_factory(engine)() as session:
        rows = [{"name": p.name, "source": p.import_source, **p.features()}
                for p in session.query(Patient).all() if p.import_source]
    engine.dispose()
    return rows


def test_bulk_folder_saves_every_patient_with_their_conditions(home):
    expected = bulk_export(home / "export")
    code, out, err = run("import-fhir", str(home / "export"))
    assert code == 0, err
    assert len(re.findall(r"saved as KAP-\d+", out)) == 3, out
    assert "names Patient/ghost" in out
    stored = {row["source"]["fhir_patient_id"]: row for row in _stored(home)}
    assert sorted(stored) == ["p1", "p2", "p3"]
    for pid, values in expected.items():
        assert {k: stored[pid][k] for k in values} == values
    assert stored["p1"]["source"]["format"] == "FHIR R4 NDJSON"


def test_a_malformed_file_in_the_folder_saves_nothing(home):
    bulk_export(home / "export")
    good = json.dumps({"resourceType": "Observation", "id": "ok", "status": "final",
                       "code": {"text": "note"}, "subject": {"reference": "Patient/p1"}})
    (home / "export" / "Observation.002.ndjson").write_text(good + '\n{"resourceType": "Obs\n')
    code, out, err = run("import-fhir", str(home / "export"))
    assert code == 1 and "Observation.002.ndjson line 2: malformed JSON" in err
    assert "saved as" not in out
    store = home / "home" / "kapcds.sqlite3"
    assert not store.exists() or _stored(home) == []


def test_a_condition_file_alone_fails_with_the_reason(home):
    bulk_export(home / "export")
    code, out, err = run("import-fhir", str(home / "export" / "Condition.000.ndjson"),
                         "--dry-run")
    assert code == 1 and "no Patient resource" in err and "Bulk Data export folder" in err


def test_dry_run_prints_a_per_patient_report(home):
    bulk_export(home / "export")
    code, out, err = run("import-fhir", str(home / "export"), "--dry-run")
    assert code == 0, err
    assert out.count(": found ") == 3 and "saved as" not in out
    assert json.dumps("Sam Ames")[1:-1] in out
