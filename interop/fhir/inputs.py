"""Every model input the standard resources cannot carry, as a KAP-CDS-coded Observation.

Age (a Patient holds a birth date, which the store never has), diagnosis, history, the
treatment plan and the like have no LOINC home in this export; each becomes one Observation
coded in ``INPUT_SYSTEM`` with the stored value, so a Bundle exported from one KAP-CDS store
imports whole into another. Another EHR ignores these codes (they are ours); it reads the
LOINC Observations, Conditions and RiskAssessments. On import they fill only inputs the
standard resources left missing: a clinic's own data always wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from interop.fhir import codes
from interop.fhir.importer.parse import Entry
from interop.fhir.session_codes import BASE, resource_id
from interop.fhir.util import NO_SCREENING_TIME, Draft, codings, set_time
from models.contract import schema
from models.contract.doses import is_missing

INPUT_SYSTEM = f"{BASE}/CodeSystem/input"
CATEGORY_SYSTEM = f"{BASE}/CodeSystem/input-category"  # + "/<feature>"


def _value(spec: schema.Feature, value: Any) -> dict[str, Any]:
    if spec.dtype == "bool":
        return {"valueBoolean": bool(value)}
    if spec.dtype == "category":
        return {"valueCodeableConcept": {"coding": [{
            "system": f"{CATEGORY_SYSTEM}/{spec.name}", "code": str(value),
            "display": spec.category_label(str(value))}], "text": spec.category_label(
                str(value))}}
    if spec.dtype == "int":
        return {"valueInteger": int(value)}
    return {"valueQuantity": {"value": round(float(value), 6), "unit": spec.unit or "1"}}


def input_observations(patient_row: Mapping[str, Any], measured_at: Mapping[str, str] | None,
                       skip: Iterable[str]) -> list[dict[str, Any]]:
    """Observations for each schema feature not in ``skip`` (those exported otherwise); the
    effective time is the recorded one in ``measured_at`` or left out with its reason."""
    times = dict(measured_at or {})
    pid = str(patient_row[schema.ID_COLUMN])
    subject = {"reference": f"urn:uuid:{resource_id('Patient', pid)}"}
    skipped = set(skip)
    out = []
    for spec in schema.FEATURES:
        value = patient_row.get(spec.name)
        if spec.name in skipped or is_missing(value):  # e.g. the other route's dose unit
            continue
        out.append(set_time({"resourceType": "Observation",
                             "id": resource_id("Observation", pid, "input", spec.name),
                             "status": "final", "subject": subject,
                             "code": {"coding": [{"system": INPUT_SYSTEM, "code": spec.name,
                                                  "display": spec.label}], "text": spec.label},
                             **_value(spec, value)},
                            "effectiveDateTime", times.get(spec.name), NO_SCREENING_TIME))
    return out


def _read(spec: schema.Feature, res: Mapping[str, Any]) -> Any:
    if spec.dtype == "bool":
        return res.get("valueBoolean") if isinstance(res.get("valueBoolean"), bool) else None
    if spec.dtype == "category":
        system = f"{CATEGORY_SYSTEM}/{spec.name}"
        code = next((c for s, c, _ in codings(res.get("valueCodeableConcept")) if s == system),
                    None)
        return code if code in spec.categories else None
    raw = res.get("valueInteger")
    if raw is None and isinstance(res.get("valueQuantity"), dict):
        raw = res["valueQuantity"].get("value")
    return raw if isinstance(raw, (int, float)) and not isinstance(raw, bool) else None


def map_inputs(entries: list[Entry], draft: Draft) -> None:
    """Fill the inputs still missing from KAP-CDS input Observations (warn on bad values)."""
    names = set(schema.feature_names())
    for entry in entries:
        res = entry.resource
        if entry.type != "Observation" or res.get("status") not in codes.OBSERVATION_STATUS_OK:
            continue
        code = next((c for s, c, _ in codings(res.get("code")) if s == INPUT_SYSTEM), None)
        if code not in names or code in draft.values:
            continue
        value = _read(schema.feature(code), res)
        if value is None:
            draft.warn(f"{entry.ref}: {schema.feature(code).label} could not be read; "
                       "left missing")
            continue
        draft.set(code, value, [entry.ref])
