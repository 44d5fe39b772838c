"""Dosing sessions as FHIR R4: one Encounter per session and an Observation per measure.

The vocabulary (KAP-CDS codes next to LOINC, BP panels) is ``interop.fhir.session_codes``;
``interop.fhir.importer.sessions`` reads the same shape back. A value that was not recorded
(a NULL in the store, e.g. PCL-5 for a patient without PTSD) is left out, never written as
a default; a session whose date was not recorded has no ``period``/``effectiveDateTime``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from interop.fhir import codes
from interop.fhir import session_codes as vocab
from interop.fhir.util import NO_SESSION_TIME, absent, set_time
from models.clinical.session_monitoring import is_blank
from models.contract.schema import SessionField

SURVEY = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                      "code": "survey", "display": "Survey"}]}
VITALS = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                      "code": "vital-signs", "display": "Vital Signs"}]}


def _concept(code: str, label: str, loinc: tuple[str, str] | None) -> dict[str, Any]:
    coding = [{"system": vocab.SESSION_MEASURE, "code": code, "display": label}]
    if loinc:
        coding.append({"system": codes.LOINC, "code": loinc[0], "display": loinc[1]})
    return {"coding": coding, "text": label}


def _value(spec: SessionField, value: Any) -> dict[str, Any]:
    """The Observation value of one field, typed as the schema says."""
    if spec.dtype == "bool":
        return {"valueBoolean": bool(value)}
    if spec.dtype == "category":
        return {"valueCodeableConcept": {"coding": [{
            "system": f"{vocab.CATEGORY_SYSTEM}/{spec.name}", "code": str(value)}],
            "text": str(value)}}
    if spec.dtype == "int" and vocab.ucum(spec) in ("{score}", "1"):
        return {"valueInteger": int(value)}
    number: float | int = int(value) if spec.dtype == "int" else round(float(value), 6)
    if isinstance(number, float) and not math.isfinite(number):
        raise ValueError(f"{spec.name}: {value!r} is not a finite number")
    return {"valueQuantity": {"value": number, "unit": spec.unit, "system": codes.UCUM,
                              "code": vocab.ucum(spec)}}


def _measure(measure: vocab.Measure, row: Mapping[str, Any]) -> dict[str, Any] | None:
    """The Observation body of one measure, or None when nothing of it was recorded."""
    if any(is_blank(row.get(f)) for f in measure.fields):
        return None
    if not measure.is_bp:
        name = measure.fields[0]
        spec = vocab.field_spec(name)
        category = VITALS if vocab.ucum(spec) in ("mm[Hg]", "/min") else SURVEY
        return {"category": [category],
                "code": _concept(measure.code, measure.label, vocab.loinc_for(name)),
                **_value(spec, row[name])}
    components = []
    for name in measure.fields:
        spec = vocab.field_spec(name)
        components.append({"code": _concept(name, spec.label, vocab.loinc_for(name)),
                           **_value(spec, row[name])})
    return {"category": [VITALS], "code": _concept(measure.code, measure.label, vocab.BP_PANEL),
            "component": components}


def _when(row: Mapping[str, Any]) -> str | None:
    moment = row.get("session_at")
    if is_blank(moment):
        return None
    return pd.Timestamp(moment).tz_convert("UTC").isoformat(timespec="seconds")


def session_resources(patient_id: str, subject: Mapping[str, str],
                      sessions: pd.DataFrame | Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Encounters and Observations (as Bundle entries) for a patient's recorded sessions."""
    rows = sessions.to_dict("records") if isinstance(sessions, pd.DataFrame) else sessions
    entries: list[dict[str, Any]] = []
    for row in rows:
        number = int(row["session_number"])
        phase = "induction" if is_blank(row.get("phase")) else str(row["phase"])
        when = _when(row)
        enc_id = vocab.resource_id("Encounter", patient_id, number)
        encounter: dict[str, Any] = {
            "resourceType": "Encounter", "id": enc_id, "status": "finished",
            "class": vocab.ENCOUNTER_CLASS, "subject": dict(subject),
            "identifier": [{"system": vocab.SESSION_IDENTIFIER,
                            "value": vocab.session_key(patient_id, number)}],
            "type": [{"coding": [{"system": vocab.PHASE_SYSTEM, "code": phase}],
                      "text": f"Ketamine dosing session {number} ({phase})"}]}
        encounter["period"] = {"start": when} if when else absent()  # never silently none
        entries.append({"fullUrl": f"urn:uuid:{enc_id}", "resource": encounter})
        link = {"reference": f"urn:uuid:{enc_id}"}
        bodies = [(m.code, _measure(m, row)) for m in vocab.measures()]
        bodies += [(name, {"code": _concept(name, name.replace("_", " "), None),
                           "valueString": str(row[name])})
                   for name in vocab.NOTE_FIELDS if not is_blank(row.get(name))]
        bodies += [(name, {"code": _concept(name, name.replace("_", " "), None),
                           "valueDateTime": pd.Timestamp(row[name]).tz_convert("UTC")
                           .isoformat(timespec="seconds")})
                   for name in vocab.TIME_FIELDS if not is_blank(row.get(name))]
        for code, body in bodies:
            if body is None:
                continue
            obs_id = vocab.resource_id("Observation", patient_id, number, code)
            resource = {"resourceType": "Observation", "id": obs_id, "status": "final",
                        "subject": dict(subject), "encounter": link, **body}
            set_time(resource, "effectiveDateTime", when, NO_SESSION_TIME)
            entries.append({"fullUrl": f"urn:uuid:{obs_id}", "resource": resource})
    return entries
