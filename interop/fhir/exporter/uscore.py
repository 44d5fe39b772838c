"""What an EHR expects of an export: US Core 6.1 profiles where the data meets them,
Conditions and MedicationStatements instead of only project codes, resolvable outcome codes.

A profile is declared only when the resource carries what the profile requires; nothing is
invented to meet one: no birth date (the store keeps the age only), no effective time (a
reading without its recorded time is left out of the vital-signs profile), no given/family
split of a name that does not say which is which ("Family, Given" does).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from interop.fhir import codes
from models.contract import schema

US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
_VITAL_PROFILES = {"85354-9": "us-core-blood-pressure", "8867-4": "us-core-heart-rate",
                   "39156-5": "us-core-bmi", "59408-5": "us-core-pulse-oximetry",
                   "2708-6": "us-core-pulse-oximetry"}
_SCREENING = frozenset({"44261-6", "70274-6", "44249-1", "69737-5", "44260-8"})
SPO2_ARTERIAL = {"system": codes.LOINC, "code": "2708-6",
                 "display": "Oxygen saturation in Arterial blood"}
# Feature -> the SNOMED concept of its value set (interop/fhir/terminology/conditions.json)
# that imports back as exactly this value; history features go out as inactive.
CONDITIONS: dict[str, tuple[str, str, bool]] = {
    "dx_trd": ("1153570009", "Treatment resistant depression (disorder)", False),
    "dx_chronic_anxiety": ("197480006", "Anxiety disorder (disorder)", False),
    "dx_ptsd": ("47505003", "Posttraumatic stress disorder (disorder)", False),
    "dx_chronic_pain": ("82423001", "Chronic pain (finding)", False),
    "dx_suicidality": ("6471006", "Suicidal thoughts (finding)", False),
    "past_suicide_attempt": ("82313006", "Suicide attempt (event)", True),
    "psychosis_history": ("69322001", "Psychotic disorder (disorder)", True),
}
# Flag -> ATC class (interop/fhir/terminology/medications.json) for a MedicationStatement.
MED_CLASSES = {"maoi": ("N06AF", "monoamine oxidase inhibitor"),
               "stimulant": ("N06BA", "psychostimulant"), "opioid": ("N02A", "opioid")}
BENZO = ("N05BA", "benzodiazepine")


def _profile(resource: dict[str, Any], name: str) -> None:
    meta = resource.setdefault("meta", {})
    meta["profile"] = sorted({*meta.get("profile", []), US_CORE + name})


def _loinc_codes(node: Mapping[str, Any]) -> set[str]:
    return {c.get("code") for c in (node.get("code") or {}).get("coding") or []
            if c.get("system") == codes.LOINC}


def _category(resource: dict[str, Any], code: str) -> None:
    have = {c.get("code") for cat in resource.get("category") or []
            for c in cat.get("coding") or []}
    if code not in have:
        resource.setdefault("category", []).append(
            {"coding": [{"system": OBS_CATEGORY, "code": code}]})


def observation(resource: dict[str, Any], export_time: str | None = None) -> None:
    """Category, SpO2's second code and a profile, when the Observation meets it (an
    effective time equal to the export time is not a recorded time: no profile)."""
    loinc = _loinc_codes(resource)
    if "59408-5" in loinc and "2708-6" not in loinc:  # US Core pulse oximetry needs both
        resource["code"]["coding"].append(dict(SPO2_ARTERIAL))
        loinc.add("2708-6")
    timed = any(k in resource for k in ("effectiveDateTime", "effectivePeriod",
                                        "effectiveInstant")) \
        and (export_time is None or resource.get("effectiveDateTime") != export_time)
    vital = next((p for c, p in _VITAL_PROFILES.items() if c in loinc), None)
    if vital:
        _category(resource, "vital-signs")
        if timed and ("valueQuantity" in resource or "component" in resource):
            _profile(resource, vital)
    elif loinc & _SCREENING:
        _category(resource, "survey")
        if timed:
            _profile(resource, "us-core-observation-screening-assessment")


def patient(resource: dict[str, Any], identifiers: list[str]) -> None:
    """The EHR's own identifiers exported back; name split only when it says how."""
    for text in identifiers:
        system, _, value = str(text).partition("|")
        item = {"value": value, **({"system": system} if system else {})}
        if value and item not in resource.setdefault("identifier", []):
            resource["identifier"].append(item)
    for name in resource.get("name") or []:
        family, comma, given = str(name.get("text") or "").partition(",")
        if comma and family.strip() and given.strip():
            name.update({"family": family.strip(), "given": given.split()})
    named = any(n.get("family") or n.get("given") for n in resource.get("name") or [])
    if named and resource.get("gender") and resource.get("identifier"):
        _profile(resource, "us-core-patient")


def encounter(resource: dict[str, Any]) -> None:
    """Session Encounters: US Core Encounter when class, type and subject are there."""
    if resource.get("class") and resource.get("type") and resource.get("subject"):
        _profile(resource, "us-core-encounter")


def _rid(pid: str, key: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"kapcds/{pid}/{key}"))


def conditions(row: Mapping[str, Any], subject: dict[str, str], pid: str) -> list[dict]:
    """One US Core problem-list Condition per recorded diagnosis (no onset: not stored)."""
    out = []
    for feature, (code, display, history) in CONDITIONS.items():
        if row.get(feature) is not True:
            continue
        status = "inactive" if history else "active"
        res = {"resourceType": "Condition", "id": _rid(pid, f"condition-{feature}"),
               "meta": {"profile": [US_CORE + "us-core-condition-problems-health-concerns"]},
               "clinicalStatus": {"coding": [{"system": codes.CONDITION_CLINICAL,
                                              "code": status}]},
               "verificationStatus": {"coding": [{"system": codes.CONDITION_VERIFICATION,
                                                  "code": "confirmed"}]},
               "category": [{"coding": [{"system": CONDITION_CATEGORY,
                                         "code": "problem-list-item"}]}],
               "code": {"coding": [{"system": codes.SNOMED, "code": code,
                                    "display": display}],
                        "text": schema.feature(feature).label},
               "subject": subject}
        out.append(res)
    return out


def medication_statements(row: Mapping[str, Any], subject: dict[str, str],
                          pid: str) -> list[dict]:
    """A MedicationStatement per drug class the record holds (ATC class; the ingredient is
    not stored); the benzodiazepine dose as diazepam-equivalent text."""
    items = [(f, *MED_CLASSES[f], None) for f in MED_CLASSES if row.get(f) is True]
    dose = row.get("benzo_dose_mg")
    if dose is not None and float(dose) > 0:
        items.append(("benzo", *BENZO, f"{float(dose):g} mg/day diazepam-equivalent"))
    out = []
    for key, atc, text, dosage in items:
        res = {"resourceType": "MedicationStatement", "id": _rid(pid, f"medication-{key}"),
               "status": "active", "subject": subject,
               "medicationCodeableConcept": {"coding": [{"system": codes.ATC, "code": atc,
                                                         "display": text}], "text": text}}
        if dosage:
            res["dosage"] = [{"text": dosage}]
        out.append(res)
    return out


def outcome_code_system(url: str) -> dict[str, Any]:
    """The outcome codes of the RiskAssessments as a CodeSystem a reader can resolve."""
    return {"resourceType": "CodeSystem", "id": str(uuid.uuid5(uuid.NAMESPACE_URL, url)),
            "url": url, "name": "KapCdsOutcome", "status": "active", "content": "complete",
            "title": "KAP-CDS predicted outcomes (models trained on synthetic data)",
            "concept": [{"code": o.name, "display": o.label, "definition": o.definition}
                        for o in schema.OUTCOMES]}


def apply(entries: list[dict[str, Any]], row: Mapping[str, Any], subject: dict[str, str],
          pid: str, outcome_system: str, export_time: str | None = None
          ) -> list[dict[str, Any]]:
    """The entries with profiles declared where met, plus Conditions, MedicationStatements
    and the outcome CodeSystem."""
    for entry in entries:
        res = entry["resource"]
        kind = res.get("resourceType")
        if kind == "Observation":
            observation(res, export_time)
        elif kind == "Patient":
            patient(res, list(row.get("ehr_identifiers") or []))
        elif kind == "Encounter":
            encounter(res)
    extra = [*conditions(row, subject, pid), *medication_statements(row, subject, pid),
             outcome_code_system(outcome_system)]
    return [*entries, *({"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in extra)]
