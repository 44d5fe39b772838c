"""The per-session monitoring form (PDF): every field printed, "not recorded" where nothing
was recorded (never a blank), untrusted text printed as text; from the store and the CLI."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from cli_helpers import run
from pypdf import PdfReader
from sqlalchemy.orm import Session

from interop.reports.monitoring_form import (
    NOT_RECORDED,
    _sections,
    render_monitoring_form,
    session_monitoring_pdf,
)
from models.contract.schema import defaults
from records import repository as repo

DOSE = datetime(2026, 3, 2, 9, 40, tzinfo=timezone.utc)
OLD_SESSION: dict[str, Any] = {
    "session_number": 2, "day": 3, "route": "iv", "dose_mg_per_kg": 0.5, "phq9": 14,
    "phq9_item9": 0, "gad7": 9, "pcl5": None, "cssrs": 0, "sbp_pre": 122, "dbp_pre": 78,
    "hr_pre": 72, "sbp_post": 138, "dbp_post": 86, "hr_post": 80, "cadss": 8, "nausea": False,
    "vomiting": False, "headache": False, "dizziness": False, "sedation": True,
    "minutes_to_discharge": 95, "dropout_after": False}
RECORD: dict[str, Any] = {
    "sbp_discharge": 184, "dbp_discharge": 96, "spo2_lowest": 93, "moaas_post": 3,
    "moaas_discharge": 5, "dissociation_discharge": False, "respiratory_depression": False,
    "serious_adverse_event": True, "sae_description": "<b>syncope</b> & fall",
    "cm_benzodiazepine": True, "cm_hypnotic": False, "cm_psychostimulant": False,
    "cm_maoi": False, "product": "Spravato 28 mg", "lot_number": "ESK<1>",
    "dose_at": DOSE, "ready_at": DOSE + timedelta(minutes=75)}


def _text(pdf: bytes) -> str:
    assert pdf.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def test_a_full_record_prints_its_values_warnings_and_text_as_text() -> None:
    row = {**OLD_SESSION, **RECORD, "route": "intranasal_esketamine", "minutes_to_discharge": 75,
           "session_at": DOSE, "concomitant_medications": "sertraline 100 mg",
           "dose_mg_per_kg": None, "esketamine_dose_mg": 84.0}
    text = _text(render_monitoring_form("KAP-00009", "Sam <i>Synthetic</i>", row))
    assert "Session monitoring record: Sam <i>Synthetic</i> (KAP-00009), session 2" in text
    assert "Blood pressure before discharge 184/96 mmHg" in text
    assert "Lowest SpO2 (pulse oximetry) (%) 93 %" in text
    assert "Sedation (MOAA/S) at ~40 min (points) 3" in text
    assert "Serious adverse event: description <b>syncope</b> & fall" in text
    assert "Lot number ESK<1>" in text
    assert "Dose 84 mg" in text and "mg/kg" not in text  # esketamine in mg (HAZ-240)
    assert "Monitoring time (dose → ready to leave) 75 min" in text
    assert "Monitoring was 75 min (dose → ready to leave), shorter than the 2 h" in text
    assert "Discharge BP 184/96 mmHg is at or above the alert threshold 180/110." in text
    assert "SYNTHETIC DATA — DECISION SUPPORT ONLY" in text
    assert NOT_RECORDED not in text  # every field was recorded


def test_a_session_without_the_record_prints_not_recorded_never_a_blank() -> None:
    row = {**OLD_SESSION, **dict.fromkeys(RECORD), "concomitant_medications": None}
    lines = [value for _, section in _sections(row) for _, value in section]
    assert all(value.strip() for value in lines)  # no blank that could pass for a value
    text = _text(render_monitoring_form("KAP-00009", "Sam Synthetic", row))
    for label in ("Blood pressure before discharge", "Lowest SpO2 (pulse oximetry) (%)",
                  "Respiratory depression", "MAOI at this session", "Time of dose",
                  "Judged ready to leave", "Monitoring time (dose → ready to leave)"):
        assert f"{label} {NOT_RECORDED}" in text, label
    assert "Lot number not required for this route" in text
    assert "Blood pressure before dosing 122/78 mmHg" in text
    assert "Ready to leave after (as recorded) 95 min" in text
    assert "None from the recorded values." in text
    no_event = _text(render_monitoring_form("KAP-00009", "Sam Synthetic",
                                            {**row, "serious_adverse_event": False}))
    assert "description not applicable (no serious adverse event)" in no_event


def test_a_stored_session_is_printed_and_an_unknown_one_named(db: Session) -> None:
    repo.add_patient(db, {"patient_id": "KAP-00001", "name": "Test Patient", **defaults()})
    repo.add_session(db, "KAP-00001", {**OLD_SESSION, "session_number": 1, "day": 0,
                                       **RECORD, "route": "iv", "minutes_to_discharge": None,
                                       "session_at": DOSE - timedelta(minutes=10)})
    db.commit()
    text = _text(session_monitoring_pdf(db, "KAP-00001", 1))
    assert "Test Patient (KAP-00001), session 1" in text
    assert "Ready to leave after (as recorded) 75 min" in text  # from the two times
    with pytest.raises(LookupError, match="KAP-00001 has no session 7"):
        session_monitoring_pdf(db, "KAP-00001", 7)


def test_cli_prints_a_sessions_monitoring_form(home) -> None:
    out_pdf = home / "s.pdf"
    code, out, err = run("report", "KAP-00003", "--session", "1", "--out", str(out_pdf))
    assert code == 0, err
    text = _text(out_pdf.read_bytes())
    assert "(KAP-00003), session 1" in text
    assert f"Time of dose {NOT_RECORDED}" in text  # a seeded session has no record
    code, _, err = run("report", "KAP-00003", "--session", "99")
    assert code == 1 and "KAP-00003 has no session 99" in err
