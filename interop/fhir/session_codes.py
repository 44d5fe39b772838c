"""The vocabulary of a dosing session in FHIR: which field becomes which coded Observation.

One Encounter per session (identifier ``<patient id>/<session number>`` in
``SESSION_IDENTIFIER``) and one Observation per measured field, linked by
``Observation.encounter``. Every Observation carries a KAP-CDS coding that names the field
(what the importer reads back, so the export round-trips) and, where one exists, the LOINC
code another system understands (clinical-reference §6). Blood pressure pairs
(``sbp_<when>``/``dbp_<when>``) become one panel (LOINC 85354-9) with two components.

The table is derived from ``models.contract.schema.SESSION_FIELDS`` and the monitoring record's
``models.clinical.session_monitoring`` fields: a field added there is exported and imported without
a change here (with a KAP-CDS code only). SpO2 uses LOINC 59408-5.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from models.clinical.session_monitoring import MONITORING_FIELDS, TEXT_FIELDS, TIMES
from models.contract.schema import SESSION_FIELDS, SessionField

BASE = "https://kapcds.example.org/fhir"
SESSION_IDENTIFIER = f"{BASE}/NamingSystem/session"
SESSION_MEASURE = f"{BASE}/CodeSystem/session-measure"
FOLLOWUP_IDENTIFIER = f"{BASE}/NamingSystem/followup-visit"  # interop.fhir.exporter.followup
FOLLOWUP_MEASURE = f"{BASE}/CodeSystem/followup-measure"
PHASE_SYSTEM = f"{BASE}/CodeSystem/session-phase"  # induction / maintenance (Encounter.type)
CATEGORY_SYSTEM = f"{BASE}/CodeSystem/session-category"  # + "/<field>" for a category field
ENCOUNTER_CLASS = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                   "code": "AMB", "display": "ambulatory"}
BP_PANEL = ("85354-9", "Blood pressure panel with all children optional")
# Free text (valueString) and moments (valueDateTime) of the record, monitoring included.
NOTE_FIELDS = ("concomitant_medications", "notes", *TEXT_FIELDS)
TIME_FIELDS = TIMES
SPECS: tuple[SessionField, ...] = (*SESSION_FIELDS, *MONITORING_FIELDS)
# LOINC for the session fields that have one (clinical-reference §6; 44260-8 is PHQ-9 item 9).
LOINC: dict[str, tuple[str, str]] = {
    "phq9": ("44261-6", "PHQ-9 total score"),
    "phq9_item9": ("44260-8", "PHQ-9 item 9: thoughts that you would be better off dead"),
    "gad7": ("70274-6", "GAD-7 total score"),
    "sbp": ("8480-6", "Systolic blood pressure"),
    "dbp": ("8462-4", "Diastolic blood pressure"),
    "hr": ("8867-4", "Heart rate"),
    "spo2": ("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry"),
}
# Schema unit text -> UCUM code.
UCUM_FOR_UNIT = {"%": "%", "mmHg": "mm[Hg]", "beats/min": "/min", "mg/kg": "mg/kg", "mg": "mg",
                 "min": "min",
                 "points": "{score}", "days since first session": "d", "": "1"}


@dataclass(frozen=True)
class Measure:
    """One exported Observation: a single field, or a BP pair (``fields`` has two)."""

    code: str  # the KAP-CDS code (SESSION_MEASURE)
    fields: tuple[str, ...]
    label: str

    @property
    def is_bp(self) -> bool:
        """A systolic/diastolic panel rather than one value."""
        return len(self.fields) == 2


def _field(name: str) -> SessionField:
    return next(f for f in SPECS if f.name == name)


def loinc_for(name: str) -> tuple[str, str] | None:
    """The LOINC code of a session field (``hr_pre`` -> heart rate), if there is one."""
    return LOINC.get(name) or LOINC.get(name.split("_")[0])


def measures() -> list[Measure]:
    """Every session field as an Observation (BP pairs together), in schema order."""
    names = [f.name for f in SPECS if f.name not in ("patient_id", "session_number")]
    out, taken = [], set()
    for name in names:
        if name in taken:
            continue
        if name.startswith("sbp_") and f"dbp_{name[4:]}" in names:
            when = name[4:]
            pair = (name, f"dbp_{when}")
            taken.update(pair)
            out.append(Measure(f"bp_{when}", pair,
                               _field(name).label.replace("Systolic BP", "Blood pressure")))
            continue
        taken.add(name)
        out.append(Measure(name, (name,), _field(name).label))
    return out


def field_spec(name: str) -> SessionField:
    """The schema definition of a session field."""
    return _field(name)


def ucum(spec: SessionField) -> str:
    """The UCUM code for a field's unit (``1`` when the unit has no code here)."""
    return UCUM_FOR_UNIT.get(spec.unit, "1")


def session_key(patient_id: str, number: int) -> str:
    """The Encounter identifier value of a session."""
    return f"{patient_id}/{int(number)}"


_NAMESPACE = uuid.UUID("6f1f3a52-3b7e-4a8e-9a43-7c1d2b5e8f10")  # as interop.fhir.exporter.bundle


def resource_id(*parts: object) -> str:
    """A deterministic UUID, so the same session exports with the same ids every time."""
    return str(uuid.uuid5(_NAMESPACE, "/".join(str(p) for p in parts)))


def is_session_encounter(resource: Mapping[str, Any]) -> bool:
    """An Encounter this exporter wrote for a dosing session (other Encounters are skipped)."""
    return resource.get("resourceType") == "Encounter" and any(
        isinstance(i, dict) and i.get("system") == SESSION_IDENTIFIER
        for i in resource.get("identifier") or [])


def is_followup_encounter(resource: Mapping[str, Any]) -> bool:
    """An Encounter this exporter wrote for a follow-up visit after the series."""
    return resource.get("resourceType") == "Encounter" and any(
        isinstance(i, dict) and i.get("system") == FOLLOWUP_IDENTIFIER
        for i in resource.get("identifier") or [])
