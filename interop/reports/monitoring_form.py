"""A printable per-session monitoring form (PDF), modelled on the Spravato REMS patient
monitoring form (clinical-reference §5): what was recorded for one dosing session.

Every field of the record is printed; a value that was not recorded reads "not recorded"
(never a blank that could pass for a value, never a default). Free text (product, lot,
descriptions, medications) comes from users and is escaped, so it prints as text. The same
function serves the progress page's download button and ``kapcds report --session``.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any
from xml.sax.saxutils import escape

import pandas as pd
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, KeepTogether, Paragraph, SimpleDocTemplate, Spacer
from sqlalchemy.orm import Session

from base.clock import clinic_text
from interop.reports.patient_report import DISCLAIMER, FONT, WIDTH, _fonts, _p, _styles, _table
from models.clinical.session_monitoring import (
    LOT_ROUTES,
    is_blank,
    label,
    minutes_between,
    monitoring_warnings,
)
from models.contract.doses import dose_text
from models.contract.schema import feature
from records.repository import get_patient, sessions_frame

log = logging.getLogger(__name__)
NOT_RECORDED = "not recorded"
TITLE = "Session monitoring record"
SOURCE_NOTE = ("Modelled on the Spravato REMS patient monitoring form (clinical-reference §5); "
               "a clinic record, not a REMS submission. MOAA/S: 5 = responds readily to name "
               "… 0 = no response to a painful stimulus.")


def _text(value: Any, unit: str = "") -> str:
    if is_blank(value):
        return NOT_RECORDED
    if isinstance(value, (bool,)) or type(value).__name__ == "bool_":
        return "yes" if bool(value) else "no"
    if isinstance(value, (int, float)) or hasattr(value, "dtype"):
        text = f"{float(value):g}"
        return f"{text} {unit}".strip()
    return str(value).strip()


def _bp(row: Mapping[str, Any], sbp: str, dbp: str) -> str:
    if is_blank(row.get(sbp)) and is_blank(row.get(dbp)):
        return NOT_RECORDED
    return f"{_text(row.get(sbp))}/{_text(row.get(dbp))} mmHg"


def _when(value: Any) -> str:
    return NOT_RECORDED if is_blank(value) else clinic_text(pd.Timestamp(value).to_pydatetime())


def _sae_text(row: Mapping[str, Any]) -> str:
    """The description, or why there is none (no event recorded as "no")."""
    if is_blank(row.get("sae_description")) and row.get("serious_adverse_event") is False:
        return "not applicable (no serious adverse event)"
    return _text(row.get("sae_description"))


def _dose(row: Mapping[str, Any]) -> str:
    """The dose in its route's unit: esketamine mg, ketamine mg/kg (HAZ-240)."""
    text = dose_text(row.get("route"), row.get("dose_mg_per_kg"), row.get("esketamine_dose_mg"))
    return NOT_RECORDED if text == "—" else text


def _session_lines(row: Mapping[str, Any]) -> list[tuple[str, str]]:
    route = row.get("route")
    lot = row.get("lot_number")
    lot_text = _text(lot) if route in LOT_ROUTES or not is_blank(lot) else \
        "not required for this route"
    return [("Session date and time", _when(row.get("session_at"))),
            ("Route", NOT_RECORDED if is_blank(route) else feature("route").category_label(
                str(route))),
            ("Dose", NOT_RECORDED if is_blank(route) else _dose(row)),
            (label("product"), _text(row.get("product"))), (label("lot_number"), lot_text)]


def _sections(row: Mapping[str, Any]) -> list[tuple[str, list[tuple[str, str]]]]:
    """The form's sections as (title, [(field, value text)])."""
    minutes = minutes_between(row.get("dose_at"), row.get("ready_at"))
    return [
        ("Session and product", _session_lines(row)),
        ("Concomitant medications at the session", [
            *[(label(n), _text(row.get(n))) for n in ("cm_benzodiazepine", "cm_hypnotic",
                                                       "cm_psychostimulant", "cm_maoi")],
            ("Concomitant medications (as written)", _text(row.get("concomitant_medications")))]),
        ("Vital signs", [
            ("Blood pressure before dosing", _bp(row, "sbp_pre", "dbp_pre")),
            ("Blood pressure ~40 min after dosing", _bp(row, "sbp_post", "dbp_post")),
            ("Blood pressure before discharge", _bp(row, "sbp_discharge", "dbp_discharge")),
            ("Heart rate before / ~40 min", f"{_text(row.get('hr_pre'), 'beats/min')} / "
                                            f"{_text(row.get('hr_post'), 'beats/min')}"),
            (label("spo2_lowest"), _text(row.get("spo2_lowest"), "%"))]),
        ("Sedation and dissociation", [
            ("Sedation (any, yes/no)", _text(row.get("sedation"))),
            (label("moaas_post"), _text(row.get("moaas_post"))),
            (label("moaas_discharge"), _text(row.get("moaas_discharge"))),
            ("CADSS at ~40 min (points)", _text(row.get("cadss"))),
            (label("dissociation_discharge"), _text(row.get("dissociation_discharge")))]),
        ("Adverse events", [
            (label("respiratory_depression"), _text(row.get("respiratory_depression"))),
            (label("serious_adverse_event"), _text(row.get("serious_adverse_event"))),
            (label("sae_description"), _sae_text(row)),
            ("Nausea / vomiting", f"{_text(row.get('nausea'))} / {_text(row.get('vomiting'))}"),
            ("Headache / dizziness", f"{_text(row.get('headache'))} / "
                                     f"{_text(row.get('dizziness'))}")]),
        ("Monitoring time", [
            ("Time of dose", _when(row.get("dose_at"))),
            ("Judged ready to leave", _when(row.get("ready_at"))),
            ("Monitoring time (dose → ready to leave)",
             NOT_RECORDED if minutes is None else f"{minutes:g} min"),
            ("Ready to leave after (as recorded)", _text(row.get("minutes_to_discharge"),
                                                          "min"))]),
    ]


def _decorate(patient_id: str, number: int) -> Any:
    def draw(canvas: Canvas, doc: Any) -> None:
        width, height = A4
        canvas.saveState()
        canvas.setFont(FONT, 7.5)
        canvas.setFillColor(colors.HexColor("#555555"))
        canvas.drawString(18 * mm, height - 11 * mm,
                          f"KAP-CDS {TITLE.lower()} · {patient_id} · session {number}")
        canvas.drawRightString(width - 18 * mm, height - 11 * mm, f"page {doc.page}")
        lines = simpleSplit(DISCLAIMER, FONT, 7.5, width - 40 * mm)
        box = 4 * mm + 9 * len(lines)
        canvas.setFillColor(colors.HexColor("#fff4e5"))
        canvas.rect(18 * mm, 8 * mm, width - 36 * mm, box, stroke=0, fill=1)
        canvas.setFillColor(colors.HexColor("#7a4b00"))
        for i, line in enumerate(lines):
            canvas.drawString(20 * mm, 8 * mm + box - 2.2 * mm - 9 * (i + 1) + 2, line)
        canvas.restoreState()
    return draw


def render_monitoring_form(patient_id: str, patient_name: str, row: Mapping[str, Any],
                           generated_at: datetime | None = None) -> bytes:
    """One session's monitoring record as PDF bytes (A4); ``row`` is a sessions-frame row."""
    _fonts()
    s = _styles()
    number = int(row["session_number"])
    when = clinic_text(generated_at or datetime.now(timezone.utc))
    story: list[Flowable] = [
        _p(f"{TITLE}: {patient_name} ({patient_id}), session {number}", s["title"]),
        _p(f"Printed {when} · {SOURCE_NOTE}", s["small"]), Spacer(1, 4)]
    warnings = monitoring_warnings(row)
    story.append(_p("Warnings", s["h2"]))
    story += [Paragraph(escape(w), s["bullet"], bulletText="•") for w in warnings] or [
        _p("None from the recorded values.", s["body"])]
    for title, lines in _sections(row):
        cells = [[_p(name, s["cell"]), _p(value, s["cell"])] for name, value in lines]
        story.append(KeepTogether([_p(title, s["h2"]),
                                   _table(cells, [WIDTH * 0.45, WIDTH * 0.55], header=False)]))
    story += [Spacer(1, 6), _p(DISCLAIMER, s["small"])]
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm,
                            topMargin=16 * mm, bottomMargin=24 * mm,
                            title=f"KAP-CDS session monitoring {patient_id} {number}",
                            author="KAP-CDS (synthetic data)")
    decorate = _decorate(patient_id, number)
    doc.build(story, onFirstPage=decorate, onLaterPages=decorate)
    log.info("monitoring form for %s session %d (%d bytes)", patient_id, number, buffer.tell())
    return buffer.getvalue()


def session_monitoring_pdf(session: Session, patient_id: str, session_number: int) -> bytes:
    """The monitoring form of a stored session (``LookupError`` names what is missing)."""
    patient = get_patient(session, patient_id)
    if patient is None:
        raise LookupError(f"no patient {patient_id!r} in the store")
    frame = sessions_frame(session, patient_id)
    chosen = frame[frame["session_number"] == int(session_number)]
    if chosen.empty:
        raise LookupError(f"patient {patient_id} has no session {session_number}")
    return render_monitoring_form(patient.patient_id, patient.name, chosen.iloc[0].to_dict())
