"""Follow-up visits after the series as FHIR R4: one Encounter per visit, Observations linked.

PHQ-9 (LOINC 44261-6), GAD-7 (70274-6) and MoCA (72172-0) carry LOINC next to the KAP-CDS
code; the craving and blunting self-ratings, urinary symptoms, the day after the series and
notes carry KAP-CDS codes only (``FOLLOWUP_MEASURE``). A screen not done at a visit (NULL)
is left out, never written as a default. ``interop.fhir.importer.followup_visits`` reads them back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from interop.fhir import codes
from interop.fhir.session_codes import FOLLOWUP_IDENTIFIER, FOLLOWUP_MEASURE, resource_id
from interop.fhir.util import NO_VISIT_TIME, absent, set_time
from models.clinical.session_monitoring import is_blank

# field -> (label, LOINC or None, value kind)
MEASURES: dict[str, tuple[str, tuple[str, str] | None, str]] = {
    "day_after_series": ("Days after the last induction session", None, "int"),
    "phq9": ("PHQ-9 total score", ("44261-6", "PHQ-9 total score"), "int"),
    "gad7": ("GAD-7 total score", ("70274-6", "GAD-7 total score"), "int"),
    "craving_score": ("Craving/dependency self-rating (0-10)", None, "int"),
    "moca": ("MoCA total score", ("72172-0", "Total score [MoCA]"), "int"),
    "blunting_score": ("Emotional blunting self-rating (0-10)", None, "int"),
    "urinary_symptoms": ("Urinary symptoms", None, "bool"),
    "notes": ("Visit notes", None, "text"),
}


def _value(kind: str, value: Any) -> dict[str, Any]:
    if kind == "bool":
        return {"valueBoolean": bool(value)}
    if kind == "text":
        return {"valueString": str(value)}
    return {"valueInteger": int(value)}


def visit_resources(patient_id: str, subject: Mapping[str, str],
                    visits: pd.DataFrame) -> list[dict[str, Any]]:
    """Encounters and Observations (as Bundle entries) for a patient's follow-up visits."""
    entries: list[dict[str, Any]] = []
    for ordinal, row in enumerate(visits.to_dict("records"), start=1):
        moment = row.get("visit_at")
        when = None if is_blank(moment) else pd.Timestamp(moment).tz_convert("UTC").isoformat(
            timespec="seconds")
        enc_id = resource_id("Encounter", patient_id, "followup", ordinal)
        encounter: dict[str, Any] = {
            "resourceType": "Encounter", "id": enc_id, "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                      "code": "AMB", "display": "ambulatory"},
            "subject": dict(subject),
            "identifier": [{"system": FOLLOWUP_IDENTIFIER,
                            "value": f"{patient_id}/visit/{ordinal}"}],
            "type": [{"text": f"Follow-up visit, day {int(row['day_after_series'])} after "
                              "the induction series"}]}
        encounter["period"] = {"start": when} if when else absent()  # never silently none
        entries.append({"fullUrl": f"urn:uuid:{enc_id}", "resource": encounter})
        for name, (label, loinc, kind) in MEASURES.items():
            value = row.get(name)
            if is_blank(value):
                continue
            coding = [{"system": FOLLOWUP_MEASURE, "code": name, "display": label}]
            if loinc:
                coding.append({"system": codes.LOINC, "code": loinc[0], "display": loinc[1]})
            obs_id = resource_id("Observation", patient_id, "followup", ordinal, name)
            resource = {"resourceType": "Observation", "id": obs_id, "status": "final",
                        "subject": dict(subject), "encounter": {"reference": f"urn:uuid:{enc_id}"},
                        "code": {"coding": coding, "text": label}, **_value(kind, value)}
            set_time(resource, "effectiveDateTime", when, NO_VISIT_TIME)
            entries.append({"fullUrl": f"urn:uuid:{obs_id}", "resource": resource})
    return entries
