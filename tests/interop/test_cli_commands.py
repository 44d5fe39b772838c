"""`kapcds import-fhir` and `kapcds report` from the command line."""

from __future__ import annotations

import json
import re

from cli_helpers import run
from fhir_builders import bundle, full_record
from pypdf import PdfReader

from interop.fhir.importer.patient import import_bundle


def test_import_fhir_saves_with_gaps_listed_and_set_fills_them(home):
    path = home / "bundle.json"
    path.write_text(json.dumps(bundle(full_record())), encoding="utf-8")
    gaps = import_bundle(path).missing
    assert gaps, "the hand-built record leaves some inputs to the clinician"
    code, out, err = run("import-fhir", str(path))
    assert code == 0, err
    assert re.search(r"saved as KAP-\d+ with \d+ gap\(s\)", out), out
    for name in gaps:
        assert name in out
    gap_id = re.search(r"saved as (KAP-\d+) with", out).group(1)  # type: ignore[union-attr]
    code, _, err = run("report", gap_id, "--registry", str(home / "registry"))
    assert code == 1 and "predictions need:" in err  # no PDF from placeholders
    settings = []
    for name in gaps:
        from models.contract.schema import feature

        spec = feature(name)
        value = spec.categories[0] if spec.dtype == "category" else spec.default
        settings += ["--set", f"{name}={str(value).lower()}"]
    code, out, err = run("import-fhir", str(path), *settings)
    assert code == 0, err
    assert re.search(r"saved as KAP-\d+ \(complete\)", out), out


def test_report_writes_a_pdf_for_a_stored_patient(home):
    out_pdf = home / "r.pdf"
    code, out, err = run("report", "KAP-00003", "--out", str(out_pdf),
                         "--registry", str(home / "registry"))
    assert code == 0, err
    reader = PdfReader(str(out_pdf))
    text = "".join(page.extract_text() for page in reader.pages)
    assert "KAP-00003" in text and "SYNTHETIC DATA" in text.upper()
    flat = " ".join(text.split())  # the sample's follow-up, seeded into the store
    assert "Follow-up after the series" in flat
    assert "Maintenance plan: every two weeks" in flat and "Not a responder" in flat
    assert "follow-up visit(s) recorded" in flat and "Exposure, all routes" in flat


def test_report_for_unknown_patient_is_a_clear_error(home):
    code, _, err = run("report", "KAP-99999", "--registry", str(home / "registry"))
    assert code == 1
    assert "KAP-99999" in err


def test_export_fhir_writes_a_bundle_that_imports_whole_elsewhere(home, monkeypatch):
    from interop.fhir.session_codes import FOLLOWUP_IDENTIFIER, SESSION_IDENTIFIER
    from records.db import session_factory
    from records.first_run import ensure_store
    from records.followup.frames import visits_frame
    from records.frames import sessions_frame
    from records.repository import get_patient

    out_json = home / "KAP-00003.json"
    code, out, err = run("export-fhir", "KAP-00003", "--out", str(out_json),
                         "--registry", str(home / "registry"))
    assert code == 0, err
    bundle = json.loads(out_json.read_text(encoding="utf-8"))
    assert oct(out_json.stat().st_mode & 0o777) == "0o600"  # it names the patient
    with session_factory(ensure_store())() as session:
        features = get_patient(session, "KAP-00003").features()
        sessions = sessions_frame(session, "KAP-00003")
        visits = visits_frame(session, "KAP-00003")
    systems = [e["resource"]["identifier"][0]["system"] for e in bundle["entry"]
               if e["resource"]["resourceType"] == "Encounter"]
    assert systems.count(SESSION_IDENTIFIER) == len(sessions) > 0
    assert systems.count(FOLLOWUP_IDENTIFIER) == len(visits)  # the seeded follow-up too
    monkeypatch.setenv("KAPCDS_HOME", str(home / "other-clinic"))
    code, out, err = run("import-fhir", str(out_json))
    assert code == 0, err
    assert f"{len(sessions)} session(s) added" in out and "(complete)" in out, out
    new_id = re.search(r"saved as (KAP-\d+) \(complete\)", out).group(1)  # type: ignore[union-attr]
    with session_factory(ensure_store())() as session:
        assert get_patient(session, new_id).features() == features
        assert sessions_frame(session, new_id)["phq9"].tolist() == sessions["phq9"].tolist()
        assert visits_frame(session, new_id)["phq9"].tolist() == visits["phq9"].tolist()
