"""Patient-reported questionnaires as FHIR R4 QuestionnaireResponse (LOINC-coded items).

PHQ-9 and GAD-7 refer to their LOINC panels (``http://loinc.org/q/44249-1`` and
``…/69737-5``, the canonical form LOINC publishes for its forms); each answered item's
``linkId`` is its LOINC item code (``/44260-8``, LOINC's own convention, since an R4
QuestionnaireResponse item has no ``code``) and its answer as a LOINC answer
``valueCoding`` (LA codes)
with the exact answer text as ``display`` and the score in the ``ordinalValue``
extension; the total is an item of its own (44261-6 / 70274-6). The C-SSRS screener has
no LOINC panel here: its items carry KAP-CDS codes. Questions not answered are left
out (never written as 0).
``source`` is the patient and ``authored`` the time they answered.
"""

from __future__ import annotations

from typing import Any

from interop.fhir import codes
from interop.fhir.exporter.bundle import PATIENT_ID_SYSTEM
from interop.fhir.session_codes import BASE
from models.clinical.prom_instruments import Instrument
from models.clinical.prom_instruments import instrument as find_instrument

PROM_ITEM = f"{BASE}/CodeSystem/prom-item"
PROM_IDENTIFIER = f"{BASE}/NamingSystem/prom-submission"


# LOINC answer codes (LA…) by the exact option text: the PHQ frequency and difficulty
# answers and yes / no.
ANSWER_LOINC = {
    "Not at all": "LA6568-5", "Several days": "LA6569-3",
    "More than half the days": "LA6570-1", "Nearly every day": "LA6571-9",
    "Not difficult at all": "LA6572-7", "Somewhat difficult": "LA6573-5",
    "Very difficult": "LA6574-3", "Extremely difficult": "LA6575-0",
    "Yes": "LA33-6", "No": "LA32-8",
}
ORDINAL = "http://hl7.org/fhir/StructureDefinition/ordinalValue"


def link_id(spec: Instrument, key: str) -> str:
    """The item's linkId: ``/<LOINC>`` as in LOINC's own FHIR forms, else the KAP-CDS key."""
    item = spec.item(key)
    return f"/{item.loinc}" if item.loinc else f"{spec.key}.{key}"


def _answer(value: int, label: str) -> dict[str, Any]:
    return {"valueCoding": {"system": codes.LOINC, "code": ANSWER_LOINC[label],
                            "display": label,
                            "extension": [{"url": ORDINAL, "valueDecimal": value}]}}


def questionnaire_response(patient_id: str, submission_id: int,
                           instrument: str, answers: dict[str, int], total: int,
                           answered_at: str) -> dict[str, Any]:
    """One submission as a QuestionnaireResponse resource (a plain JSON dict)."""
    spec = find_instrument(instrument)
    subject = {"identifier": {"system": PATIENT_ID_SYSTEM, "value": patient_id}}
    items = [{"linkId": link_id(spec, item.key), "text": item.text,
              "answer": [_answer(int(answers[item.key]),
                                 dict(item.options)[int(answers[item.key])])]}
             for item in spec.items if item.key in answers]
    total_item: dict[str, Any] = {
        "linkId": f"/{spec.loinc_total}" if spec.loinc_total else f"{spec.key}.total",
        "text": f"{spec.title} total score" if spec.loinc_total
        else "Number of YES answers (not a validated score)",
        "answer": [{"valueInteger": int(total)}]}
    resource: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "id": f"prom-{submission_id}",
        "identifier": {"system": PROM_IDENTIFIER, "value": f"{patient_id}/{submission_id}"},
        "status": "completed",
        "subject": subject,
        "authored": answered_at,
        "source": subject,
        "item": [*items, total_item],
    }
    if spec.loinc_panel:
        resource["questionnaire"] = f"http://loinc.org/q/{spec.loinc_panel}"
    return resource


def submissions_bundle(patient_id: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """A collection Bundle of one patient's submissions (``rows``: id, instrument,
    answers, total, answered_at ISO text)."""
    return {"resourceType": "Bundle", "type": "collection",
            "entry": [{"fullUrl": f"urn:uuid:prom-{r['id']}",
                       "resource": questionnaire_response(
                           patient_id, r["id"], r["instrument"],
                           r["answers"], r["total"], r["answered_at"])} for r in rows]}
