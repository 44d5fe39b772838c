"""Issue 7 on the pages: a patient with a blocking gap shows no prediction until the gap is
filled; the FHIR upload panel saves with gaps; the PDF report downloads."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from apptest_helpers import texts
from streamlit.testing.v1 import AppTest

from dashboard.services.entry.fhir import describe, parse_upload
from dashboard.services.patients.gaps import needs_message
from dashboard.services.patients.listing import assess_patient, cohort_table
from dashboard.services.patients.progress import patient_progress
from dashboard.services.workspace import Workspace
from dashboard.widgets.patients.report_button import build_pdf
from models.contract.schema import defaults, model_feature_names
from records.db import session_factory
from records.repository import add_patient, get_patient, update_patient

GAP_ID = "GAP-00001"  # outside the KAP- series, so other tests' next ids do not move
BLOCKING = "phq9_baseline" if "phq9_baseline" in model_feature_names() else \
    model_feature_names()[0]


def _bundle(pid: str = "fhir-apptest") -> bytes:
    patient = {"resourceType": "Patient", "id": pid, "gender": "female",
               "birthDate": "1980-03-15",
               "name": [{"use": "official", "family": "Upload", "given": ["Robin"]}]}
    return json.dumps({"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": f"http://example.org/fhir/Patient/{pid}", "resource": patient}]}).encode()


@pytest.fixture(scope="module")
def gap_patient(workspace: Workspace) -> str:
    """A stored patient whose baseline PHQ-9 (a model input) is a data gap."""
    with session_factory(workspace.engine)() as session:
        if get_patient(session, GAP_ID) is None:
            add_patient(session, {**defaults(), "patient_id": GAP_ID, "name": "Gap Patient"},
                        gaps=[BLOCKING])
            session.commit()
    return GAP_ID


def _fill(workspace: Workspace, patient_id: str) -> None:
    with session_factory(workspace.engine)() as session:
        patient = get_patient(session, patient_id)
        assert patient is not None
        value = 17 if BLOCKING == "phq9_baseline" else None
        update_patient(session, patient_id, {BLOCKING: value}, patient.version,
                       confirmed=[] if value is not None else [BLOCKING])
        session.commit()


def _review(open_page: Callable[[str], AppTest], patient_id: str) -> AppTest:
    at = open_page("candidate_review")
    at.text_input(key="cr_search").set_value(patient_id).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_blocking_gap_hides_predictions_until_filled(
        open_page: Callable[[str], AppTest], workspace: Workspace,
        gap_patient: str) -> None:
    cohort = cohort_table(workspace)
    assessment = assess_patient(workspace, cohort, gap_patient)
    assert assessment.risks == [] and assessment.prediction_needs == [BLOCKING]
    assert needs_message(assessment.prediction_needs).startswith("predictions need:")
    at = _review(open_page, gap_patient)
    warnings = texts(at.warning)
    assert "Not yet assessable: 1 input missing (Baseline PHQ-9)" in warnings
    assert not any("Predicted outcomes" in m.value for m in at.markdown)
    assert "No PDF report yet" in texts(at.caption)
    assert not at.get("download_button")

    progress = patient_progress(workspace, cohort, gap_patient)
    assert progress.band.empty and "predictions need:" in progress.status
    with pytest.raises(ValueError, match="predictions need:"):
        build_pdf(workspace, gap_patient)
    page = open_page("progress")
    page.session_state["pr_patient"] = gap_patient
    page.run()
    assert not page.exception, [e.value for e in page.exception]
    assert "expected course hidden" in texts(page.markdown)
    assert "No PDF report yet" in texts(page.caption)

    _fill(workspace, gap_patient)
    cohort = cohort_table(workspace)
    assessment = assess_patient(workspace, cohort, gap_patient)
    assert assessment.prediction_needs == [] and len(assessment.risks) > 0
    assert not patient_progress(workspace, cohort, gap_patient).band.empty
    at = _review(open_page, gap_patient)
    assert "Not yet assessable" not in texts(at.warning)
    assert any("Predicted outcomes" in m.value for m in at.markdown)


def test_pdf_download_button_on_review_and_progress(
        open_page: Callable[[str], AppTest], workspace: Workspace) -> None:
    at = _review(open_page, "KAP-00001")
    assert [b.proto.label for b in at.get("download_button")] == [
        "Download PDF report", "Download FHIR Bundle"]
    at = open_page("progress")  # the report's two, then one monitoring form per session
    assert [b.proto.label for b in at.get("download_button")][:2] == [
        "Download PDF report", "Download FHIR Bundle"]
    assert build_pdf(workspace, "KAP-00001").startswith(b"%PDF")


def test_fhir_panel_renders_and_saves_with_gaps(
        open_page: Callable[[str], AppTest], workspace: Workspace) -> None:
    results = parse_upload("upload.json", _bundle())
    row = describe(results[0])
    assert row["found"] and row["predictions need"] != "-"
    at = open_page("data_entry")
    assert at.get("file_uploader"), "the FHIR upload control is on the page"
    at.session_state["fhir_upload"] = ("upload.json", _bundle())
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.dataframe) >= 1
    at.button(key="fhir_save").click().run()
    assert not at.exception, [e.value for e in at.exception]
    saved = at.session_state["fhir_saved"]
    assert len(saved) == 1 and saved[0].gaps and saved[0].blocking
    assert "Predictions for" in texts(at.info)
    with session_factory(workspace.engine)() as session:
        stored = get_patient(session, saved[0].patient_id)
        assert stored is not None and stored.data_gaps == saved[0].gaps
        assert stored.import_source["format"] == "FHIR R4"  # type: ignore[index]


def test_saved_import_and_confirmation_are_audited_and_need_a_clinician(
        workspace: Workspace) -> None:
    from dashboard.services.access import with_actor
    from dashboard.services.entry.fhir import confirm, open_gaps, save_imports
    from records.audit.trail import entries_frame
    from records.security.policy import AccessDenied, Actor

    results = parse_upload("audited.json", _bundle("fhir-audited"))
    for refused in (workspace, with_actor(workspace, Actor("ds", "data_scientist"))):
        with pytest.raises(AccessDenied):
            save_imports(refused, results, "audited.json")
    ws = with_actor(workspace, Actor("dr-test", "clinician"))
    saved = save_imports(ws, results, "audited.json")
    pid = saved[0].patient_id
    gaps, version = open_gaps(ws, pid)
    assert gaps == saved[0].gaps
    assert confirm(ws, pid, gaps[:1], version) == version + 1
    assert open_gaps(ws, pid)[0] == gaps[1:]
    with session_factory(workspace.engine)() as session:
        frame = entries_frame(session)
    mine = frame[frame["patient_id"] == pid]
    assert set(mine["action"]) == {"import", "patient_edit"}
    assert set(mine["username"]) == {"dr-test"}
