"""Hand-built FHIR R4 resources for the interop tests (synthetic patients only)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
REF_DATE = date(2025, 6, 1)
PID = "pat-1"


def patient(pid: str = PID, birth: str = "1980-03-15", gender: str = "female",
            **extra: Any) -> dict[str, Any]:
    res = {"resourceType": "Patient", "id": pid, "gender": gender, "birthDate": birth,
           "name": [{"use": "official", "family": "Synthetic", "given": ["Alex"]}]}
    res.update(extra)
    return {k: v for k, v in res.items() if v is not None}


def quantity(value: float, code: str | None, unit: str | None = None,
             system: str | None = UCUM) -> dict[str, Any]:
    q: dict[str, Any] = {"value": value}
    if unit or code:
        q["unit"] = unit or code
    if code:
        q["code"] = code
        if system:
            q["system"] = system
    return q


def observation(oid: str, loinc: str, value: dict[str, Any] | int | None = None,
                when: str | None = "2025-05-01", subject: str = f"Patient/{PID}",
                status: str = "final", components: list[dict[str, Any]] | None = None,
                **extra: Any) -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "Observation", "id": oid, "status": status,
        "code": {"coding": [{"system": LOINC, "code": loinc}]},
        "subject": {"reference": subject},
    }
    if when:
        res["effectiveDateTime"] = when
    if isinstance(value, int):
        res["valueInteger"] = value
    elif value is not None:
        res["valueQuantity"] = value
    if components:
        res["component"] = components
    res.update(extra)
    return res


def component(loinc: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"code": {"coding": [{"system": LOINC, "code": loinc}]}, "valueQuantity": value}


def bp_panel(oid: str, sbp: float, dbp: float, panel: str = "85354-9",
             when: str = "2025-05-01", unit: str = "mm[Hg]") -> dict[str, Any]:
    return observation(oid, panel, None, when, components=[
        component("8480-6", quantity(sbp, unit)), component("8462-4", quantity(dbp, unit))])


def condition(cid: str, system: str, code: str, clinical: str | None = "active",
              verification: str | None = None, subject: str = f"Patient/{PID}",
              **extra: Any) -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "Condition", "id": cid,
        "code": {"coding": [{"system": system, "code": code}]},
        "subject": {"reference": subject},
    }
    if clinical:
        res["clinicalStatus"] = {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
            "code": clinical}]}
    if verification:
        res["verificationStatus"] = {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
            "code": verification}]}
    res.update(extra)
    return res


def dosage(dose: float, unit: str = "mg", frequency: int = 1, period: float = 1,
           period_unit: str = "d", **extra: Any) -> dict[str, Any]:
    d: dict[str, Any] = {
        "timing": {"repeat": {"frequency": frequency, "period": period,
                              "periodUnit": period_unit}},
        "doseAndRate": [{"doseQuantity": quantity(dose, unit)}],
    }
    d.update(extra)
    return d


def med_concept(text: str | None = None, rxnorm: str | None = None,
                display: str | None = None) -> dict[str, Any]:
    concept: dict[str, Any] = {}
    if rxnorm:
        coding = {"system": RXNORM, "code": rxnorm}
        if display:
            coding["display"] = display
        concept["coding"] = [coding]
    if text:
        concept["text"] = text
    return concept


def med_statement(mid: str, concept: dict[str, Any], dosages: list[dict[str, Any]] | None,
                  status: str = "active", when: str = "2025-04-01",
                  **extra: Any) -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "MedicationStatement", "id": mid, "status": status,
        "medicationCodeableConcept": concept, "subject": {"reference": f"Patient/{PID}"},
        "effectiveDateTime": when,
    }
    if dosages:
        res["dosage"] = dosages
    res.update(extra)
    return res


def med_request(mid: str, concept: dict[str, Any] | None, dosages: list[dict[str, Any]],
                status: str = "active", when: str = "2025-04-01",
                **extra: Any) -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "MedicationRequest", "id": mid, "status": status, "intent": "order",
        "subject": {"reference": f"Patient/{PID}"}, "authoredOn": when,
        "dosageInstruction": dosages,
    }
    if concept is not None:
        res["medicationCodeableConcept"] = concept
    res.update(extra)
    return res


def unrelated(pid: str = PID) -> list[dict[str, Any]]:
    """Resources an EHR export carries that the importer must skip without failing."""
    subject = {"reference": f"Patient/{pid}"}
    return [
        {"resourceType": "Encounter", "id": "enc-1", "status": "finished",
         "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                   "code": "AMB"}, "subject": subject},
        {"resourceType": "Claim", "id": "claim-1", "status": "active"},  # incomplete on purpose
        {"resourceType": "ExplanationOfBenefit", "id": "eob-1", "status": "active",
         "use": "claim", "patient": subject},
        {"resourceType": "Immunization", "id": "imm-1", "status": "completed",
         "vaccineCode": {"text": "influenza"}, "patient": subject,
         "occurrenceDateTime": "2024-10-01"},
        {"resourceType": "Procedure", "id": "proc-1", "status": "completed", "subject": subject},
        {"resourceType": "DiagnosticReport", "id": "dr-1", "status": "final",
         "code": {"text": "panel"}, "subject": subject},
        {"resourceType": "Organization", "id": "org-1", "name": "Synthetic clinic"},
        {"resourceType": "Provenance", "id": "prov-1", "bogus": ["not validated"]},
        {"resourceType": "SomeFutureType", "id": "x-1"},
    ]


def bundle(resources: list[dict[str, Any]], btype: str = "collection",
           full_urls: bool = True) -> dict[str, Any]:
    entries = []
    for res in resources:
        entry: dict[str, Any] = {"resource": res}
        if full_urls:
            entry["fullUrl"] = f"http://example.org/fhir/{res['resourceType']}/{res['id']}"
        if btype == "transaction":
            entry["request"] = {"method": "POST", "url": res["resourceType"]}
        if btype == "searchset":
            entry["search"] = {"mode": "match"}
        entries.append(entry)
    return {"resourceType": "Bundle", "type": btype, "entry": entries}


def ndjson(resources: list[dict[str, Any]]) -> str:
    return "\n".join(json.dumps(r) for r in resources) + "\n"


def full_record(pid: str = PID) -> list[dict[str, Any]]:
    """A patient whose bundle covers every feature FHIR can carry."""
    s = f"Patient/{pid}"
    return [
        patient(pid),
        observation("phq9", "44261-6", 19, subject=s),
        observation("gad7", "70274-6", quantity(13, "{score}"), subject=s),
        bp_panel("bp", 128, 82) | {"subject": {"reference": s}},
        observation("hr", "8867-4", quantity(76, "/min"), subject=s),
        observation("bmi", "39156-5", quantity(31.2, "kg/m2"), subject=s),
        condition("c-trd", SNOMED, "1153570009", subject=s),
        condition("c-htn", ICD10CM, "I10", subject=s),
    ]


# What a clinician enters for the gaps of full_record() (plan fields and unstated history).
COMPLETIONS = {
    "primary_diagnosis": "trd", "dx_chronic_anxiety": False, "dx_ptsd": False,
    "dx_suicidality": False, "dx_chronic_pain": False, "anxious_depression": False,
    "pcl5_baseline": 20, "cssrs_baseline": 1, "failed_ad_trials": 3, "prior_ect": False,
    "past_suicide_attempt": False, "family_history_aud": False, "substance_use": "none",
    "psychosis_history": False, "ace_score": 2, "hypertension": "controlled",
    "heart_disease": "none", "liver_disease": "none", "vascular_contraindication": False,
    "raised_icp": False, "pregnant": False, "maoi": False, "stimulant": False,
    "opioid": False, "benzo_dose_mg": 0.0, "support_system": "strong", "route": "iv",
    "dose_mg_per_kg": 0.5, "psychotherapy": "integrated", "sessions_per_week": 2,
    "planned_sessions": 6,
}
