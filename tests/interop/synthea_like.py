"""FHIR R4 written the way other systems export it (Synthea's shapes, Bulk Data layout).

Synthetic patients only. Resources carry what real exports carry (identifiers, meta,
categories, encounters the importer does not read) so the tests exercise the importer on
more than the fields it maps.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
SYNTHEA_ID = "https://github.com/synthetichealth/synthea"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
PHQ9_ITEMS = ("44250-9", "44255-8", "44259-0", "44254-1", "44251-7", "44258-2", "44252-5",
              "44253-3", "44260-8")
GAD7_ITEMS = ("69725-0", "68509-9", "69733-4", "69734-2", "69735-9", "69689-8", "69736-7")
ANSWERS = ("LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9")  # 0..3
ANSWER_TEXT = ("Not at all", "Several days", "More than half the days", "Nearly every day")


def patient(pid: str, birth: str, gender: str, family: str) -> dict[str, Any]:
    return {
        "resourceType": "Patient", "id": pid,
        "meta": {"profile": ["http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient"]},
        "identifier": [{"system": SYNTHEA_ID, "value": pid}],
        "name": [{"use": "official", "family": family, "given": ["Sam"], "prefix": ["Mx."]}],
        "telecom": [{"system": "phone", "value": "555-0100", "use": "home"}],
        "gender": gender, "birthDate": birth,
        "address": [{"city": "Springfield", "state": "MA", "country": "US"}],
        "maritalStatus": {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", "code": "S"}]},
    }


def condition(cid: str, subject: str, system: str, code: str, display: str,
              onset: str = "2019-04-02T10:00:00-04:00") -> dict[str, Any]:
    return {
        "resourceType": "Condition", "id": cid,
        "clinicalStatus": {"coding": [{"system": CLINICAL, "code": "active"}]},
        "verificationStatus": {"coding": [{"system": VERIFICATION, "code": "confirmed"}]},
        "category": [{"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/condition-category",
            "code": "encounter-diagnosis"}]}],
        "code": {"coding": [{"system": system, "code": code, "display": display}],
                 "text": display},
        "subject": {"reference": subject},
        "encounter": {"reference": f"Encounter/enc-{cid}"},
        "onsetDateTime": onset, "recordedDate": onset,
    }


def lorazepam_request(mid: str, subject: str, tablets_per_day: int = 2,
                      **medication: Any) -> dict[str, Any]:
    """Synthea's shape: a product code, a unitless dose (tablets), timing.repeat."""
    res: dict[str, Any] = {
        "resourceType": "MedicationRequest", "id": mid, "status": "active",
        "intent": "order", "subject": {"reference": subject},
        "authoredOn": "2025-03-01T09:00:00-05:00",
        "requester": {"reference": "Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|9"},
        "dosageInstruction": [{
            "sequence": 1, "asNeededBoolean": False,
            "timing": {"repeat": {"frequency": tablets_per_day, "period": 1.0,
                                  "periodUnit": "d"}},
            "doseAndRate": [{"type": {"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/dose-rate-type",
                "code": "ordered"}]}, "doseQuantity": {"value": 1.0}}]}],
    }
    res.update(medication or {"medicationCodeableConcept": lorazepam_concept()})
    return res


def lorazepam_concept() -> dict[str, Any]:
    return {"coding": [{"system": RXNORM, "code": "197902",
                        "display": "lorazepam 1 MG Oral Tablet"}],
            "text": "lorazepam 1 MG Oral Tablet"}


def vital(oid: str, subject: str, code: str, display: str, value: float, unit: str,
          when: str = "2025-05-01T09:00:00-04:00") -> dict[str, Any]:
    return {
        "resourceType": "Observation", "id": oid, "status": "final",
        "category": [{"coding": [{"system": OBS_CATEGORY, "code": "vital-signs"}]}],
        "code": {"coding": [{"system": LOINC, "code": code, "display": display}],
                 "text": display},
        "subject": {"reference": subject}, "effectiveDateTime": when, "issued": when,
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
    }


def phq9_panel_with_members(prefix: str, subject: str, scores: list[int],
                            when: str = "2025-05-02T10:00:00-04:00") -> list[dict[str, Any]]:
    """A 44249-1 panel whose item answers are member Observations (LOINC answer codes)."""
    members = []
    for n, (code, score) in enumerate(zip(PHQ9_ITEMS, scores, strict=True), start=1):
        members.append({
            "resourceType": "Observation", "id": f"{prefix}-item{n}", "status": "final",
            "category": [{"coding": [{"system": OBS_CATEGORY, "code": "survey"}]}],
            "code": {"coding": [{"system": LOINC, "code": code}]},
            "subject": {"reference": subject}, "effectiveDateTime": when,
            "valueCodeableConcept": {"coding": [{"system": LOINC, "code": ANSWERS[score],
                                                 "display": ANSWER_TEXT[score]}]}})
    panel = {
        "resourceType": "Observation", "id": f"{prefix}-panel", "status": "final",
        "category": [{"coding": [{"system": OBS_CATEGORY, "code": "survey"}]}],
        "code": {"coding": [{"system": LOINC, "code": "44249-1",
                             "display": "PHQ-9 quick depression assessment panel"}]},
        "subject": {"reference": subject}, "effectiveDateTime": when,
        "hasMember": [{"reference": f"Observation/{m['id']}"} for m in members],
    }
    return [panel, *members]


def questionnaire_response(qid: str, subject: str, scores: list[int],
                           items: tuple[str, ...] = PHQ9_ITEMS, panel: str = "44249-1",
                           status: str = "completed", total: int | None = None,
                           authored: str = "2025-05-10T11:00:00Z") -> dict[str, Any]:
    """LHC-Forms shape: linkIds ``/<panel>/<item>``, answers as LOINC codings."""
    answers = [{"linkId": f"/{panel}/{code}", "text": f"item {n}",
                "answer": [{"valueCoding": {"system": LOINC, "code": ANSWERS[score],
                                            "display": ANSWER_TEXT[score]}}]}
               for n, (code, score) in enumerate(zip(items, scores, strict=False), start=1)]
    if total is not None:
        answers.append({"linkId": f"/{panel}/44261-6", "answer": [{"valueInteger": total}]})
    return {"resourceType": "QuestionnaireResponse", "id": qid, "status": status,
            "questionnaire": f"http://loinc.org/q/{panel}", "subject": {"reference": subject},
            "authored": authored,
            "item": [{"linkId": f"/{panel}", "text": "panel", "item": answers}]}


def encounter(eid: str, subject: str) -> dict[str, Any]:
    return {"resourceType": "Encounter", "id": eid, "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                      "code": "AMB"}, "subject": {"reference": subject}}


def write_ndjson(path: Path, resources: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in resources), encoding="utf-8")
    return path


def bulk_export(folder: Path) -> dict[str, dict[str, Any]]:
    """A Bulk Data export of three patients, one NDJSON file per type (Observation in two
    parts), each patient referenced in another form; returns what each should import as."""
    folder.mkdir(parents=True, exist_ok=True)
    s1 = "Patient/p1"
    s2 = "https://ehr.example.org/fhir/Patient/p2"
    s3 = "Patient/p3/_history/4"
    patients = [patient("p1", "1975-02-10", "female", "Ames"),
                patient("p2", "1988-11-30", "male", "Bose"),
                patient("p3", "1961-07-04", "female", "Cruz")]
    conditions = [
        condition("c1-htn", s1, ICD10CM, "I16.0", "Hypertensive urgency"),
        condition("c1-oud", s1, ICD10CM, "F11.20", "Opioid dependence, uncomplicated"),
        condition("c2-ihd", s2, SNOMED, "53741008", "Coronary arteriosclerosis (disorder)"),
        condition("c2-sud", s2, SNOMED, "66214007", "Substance abuse (disorder)"),
        condition("c3-trd", s3, SNOMED, "1153570009", "Treatment-resistant depression"),
        condition("c-ghost", "Patient/ghost", SNOMED, "47505003", "PTSD"),
    ]
    requests = [
        lorazepam_request("mr1", s1, 2),
        lorazepam_request("mr2", s2, 3, medicationReference={"reference": "#med1"},
                          contained=[{"resourceType": "Medication", "id": "med1",
                                      "code": lorazepam_concept()}]),
        lorazepam_request("mr3", s3, 1, medicationReference={
            "reference": "https://ehr.example.org/fhir/Medication/m-lzp/_history/1"}),
    ]
    medications = [{"resourceType": "Medication", "id": "m-lzp", "code": lorazepam_concept()}]
    write_ndjson(folder / "Patient.000.ndjson", patients)
    write_ndjson(folder / "Condition.000.ndjson", conditions)
    write_ndjson(folder / "MedicationRequest.000.ndjson", requests)
    write_ndjson(folder / "Medication.000.ndjson", medications)
    write_ndjson(folder / "Encounter.000.ndjson", [encounter("e1", s1), encounter("e2", s2)])
    write_ndjson(folder / "Observation.000.ndjson", [
        vital("hr1", s1, "8867-4", "Heart rate", 71, "/min"),
        *phq9_panel_with_members("phq-p1", s1, [2, 2, 1, 3, 1, 2, 1, 0, 0])])
    write_ndjson(folder / "Observation.001.ndjson", [
        vital("bmi2", s2, "39156-5", "Body mass index", 27.4, "kg/m2"),
        vital("hr3", s3, "8867-4", "Heart rate", 64, "/min")])
    write_ndjson(folder / "QuestionnaireResponse.000.ndjson", [
        questionnaire_response("qr3", s3, [3, 3, 2, 2, 1, 2, 1, 1, 1])])
    (folder / "manifest.json").write_text(json.dumps({
        "transactionTime": "2025-06-01T00:00:00Z", "request": "https://ehr.example.org/$export",
        "requiresAccessToken": True, "error": [],
        "output": [{"type": "Patient", "url": "https://files.example/Patient.000.ndjson"}]}))
    return {
        "p1": {"hypertension": "uncontrolled", "substance_use": "active",
               "benzo_dose_mg": 20.0, "heart_rate": 71, "phq9_baseline": 12},
        "p2": {"heart_disease": "stable", "substance_use": "active", "benzo_dose_mg": 30.0,
               "bmi": 27.4},
        "p3": {"dx_trd": True, "benzo_dose_mg": 10.0, "heart_rate": 64, "phq9_baseline": 16},
    }


# --- Issue 25: a Synthea-style export with code hierarchies and medication histories -----
ATC = "http://www.whocc.no/atc"
ICD10WHO = "http://hl7.org/fhir/sid/icd-10"


def med_request(mid: str, subject: str, code: str, display: str, authored: str,
                status: str = "stopped") -> dict[str, Any]:
    """Synthea writes one MedicationRequest per prescription, stopped when renewed."""
    return {"resourceType": "MedicationRequest", "id": mid, "status": status,
            "intent": "order", "subject": {"reference": subject}, "authoredOn": authored,
            "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": code,
                                                      "display": display}],
                                          "text": display}}


def _history(prefix: str, subject: str, code: str, display: str,
             dates: list[str], last_active: bool = False) -> list[dict[str, Any]]:
    return [med_request(f"{prefix}-{n}", subject, code, display, when,
                        "active" if last_active and n == len(dates) else "stopped")
            for n, when in enumerate(dates, start=1)]


def synthea_folder(folder: Path) -> dict[str, Any]:
    """Five patients as a Synthea Bulk export writes them (one part gzipped, an error file);
    returns the facts planted per patient and the codes that must be reported unmapped."""
    import gzip

    folder.mkdir(parents=True, exist_ok=True)
    subj = {p: f"Patient/{p}" for p in ("s1", "s2", "s3", "s4", "s5")}
    patients = [patient("s1", "1979-05-02", "female", "Adams"),
                patient("s2", "1990-09-14", "male", "Baker"),
                patient("s3", "1958-12-01", "female", "Chen"),
                patient("s4", "1985-03-30", "male", "Diaz"),
                {**patient("s5", "1930-01-01", "male", "Evans"),
                 "deceasedDateTime": "1971-06-01T00:00:00Z"}]
    c = condition
    conditions = [
        c("s1-mdd", subj["s1"], SNOMED, "370143000", "Major depressive disorder (disorder)"),
        c("s1-panic", subj["s1"], SNOMED, "80583007", "Severe anxiety (panic) (finding)"),
        c("s1-lbp", subj["s1"], SNOMED, "278860009", "Chronic low back pain (finding)"),
        c("s1-dm", subj["s1"], SNOMED, "44054006", "Diabetes mellitus type 2 (disorder)"),
        c("s2-drugs", subj["s2"], SNOMED, "361055000", "Misuses drugs (finding)"),
        c("s2-neck", subj["s2"], SNOMED, "1121000119107", "Chronic neck pain (finding)"),
        c("s2-gad", subj["s2"], ICD10CM, "F41.1", "Generalized anxiety disorder"),
        c("s2-lipid", subj["s2"], SNOMED, "55822004", "Hyperlipidemia (disorder)"),
        c("s3-ihd", subj["s3"], SNOMED, "414545008", "Ischemic heart disease (disorder)"),
        c("s3-htn", subj["s3"], ICD10CM, "I16.1", "Hypertensive emergency"),
        c("s3-ptsd", subj["s3"], ICD10WHO, "F43.1", "Post-traumatic stress disorder"),
        c("s3-smoke", subj["s3"], ICD10CM, "F17.210", "Nicotine dependence, cigarettes"),
        c("s4-alcohol", subj["s4"], SNOMED, "10939881000119105",
          "Unhealthy alcohol drinking behavior (finding)"),
        c("s4-trd", subj["s4"], SNOMED, "1153570009", "Treatment resistant depression"),
        c("s5-mdd", subj["s5"], SNOMED, "370143000", "Major depressive disorder (disorder)"),
    ]
    sertraline = ("312940", "sertraline 50 MG Oral Tablet")  # product code, name in display
    requests = [
        *_history("s1-ser", subj["s1"], *sertraline, ["2023-01-10", "2023-02-09",
                                                       "2023-03-11"]),
        *_history("s1-esc", subj["s1"], "351249", "escitalopram 10 MG Oral Tablet",
                  ["2024-01-05", "2024-02-04", "2024-03-05"], last_active=True),
        med_request("s1-ven", subj["s1"], "313580", "venlafaxine 75 MG Oral Tablet",
                    "2022-05-01"),  # one fill: not an adequate trial
        lorazepam_request("s1-lzp", subj["s1"], 2),
        med_request("s2-vic", subj["s2"], "856907", "Vicodin 5/500 Oral Tablet",
                    "2025-04-20", "active"),
        med_request("s2-statin", subj["s2"], "617311", "atorvastatin 20 MG Oral Tablet",
                    "2025-01-02", "active"),
        med_request("s3-esk", subj["s3"], "2120593", "esketamine 28 MG Nasal Spray",
                    "2021-02-01", "completed"),
        {**med_request("s4-bup", subj["s4"], "", "", "2024-09-01", "active"),
         "medicationCodeableConcept": {"coding": [{"system": ATC, "code": "N06AX12",
                                                   "display": "bupropion"}]}},
    ]
    observations = [
        vital("s1-hr", subj["s1"], "8867-4", "Heart rate", 72, "/min"),
        vital("s1-glucose", subj["s1"], "2339-0", "Glucose [Mass/volume] in Blood", 132,
              "mg/dL"),
        vital("s2-bmi", subj["s2"], "39156-5", "Body mass index", 24.1, "kg/m2"),
        vital("s3-hr", subj["s3"], "8867-4", "Heart rate", 81, "/min"),
    ]
    write_ndjson(folder / "Patient.000.ndjson", patients)
    write_ndjson(folder / "Condition.000.ndjson", conditions)
    write_ndjson(folder / "Observation.000.ndjson", observations)
    raw = "".join(json.dumps(r) + "\n" for r in requests).encode()
    (folder / "MedicationRequest.000.ndjson.gz").write_bytes(gzip.compress(raw))
    write_ndjson(folder / "Encounter.000.ndjson", [encounter("e-s1", subj["s1"])])
    (folder / "OperationOutcome.000.ndjson").write_text(json.dumps({
        "resourceType": "OperationOutcome", "issue": [{
            "severity": "error", "code": "processing",
            "diagnostics": "Procedure: export of 2 resources failed"}]}) + "\n")
    facts = {
        "s1": {"dx_chronic_anxiety": True, "dx_chronic_pain": True, "failed_ad_trials": 2,
               "benzo_dose_mg": 20.0, "heart_rate": 72},
        "s2": {"substance_use": "active", "dx_chronic_pain": True,
               "dx_chronic_anxiety": True, "opioid": True, "bmi": 24.1},
        "s3": {"hypertension": "uncontrolled", "dx_ptsd": True, "heart_rate": 81},
        "s4": {"substance_use": "active", "dx_trd": True, "failed_ad_trials": 1},
    }
    unmapped = {"s1": {("Condition", "44054006"), ("Observation", "2339-0")},
                "s2": {("Condition", "55822004"), ("MedicationRequest", "617311")},
                "s3": {("Condition", "F17.210")}, "s4": set()}
    warned = {"s1": ["depression is recorded"], "s3": ["heart disease is recorded",
                                                       "prior ketamine/esketamine exposure"],
              "s4": ["failed antidepressant trials = 1, counted from medication history "
                     "(bupropion 273 days"]}
    return {"facts": facts, "unmapped": unmapped, "warned": warned, "deceased": ["s5"]}
