"""Export an assessment as a FHIR R4 collection Bundle (validated with ``fhir.resources.R4B``).

One RiskAssessment per predicted outcome (probability, model version as the method, the
Observations it was based on, the synthetic-data disclaimer) and the rule-based eligibility
screen as an Observation with one component per finding, so another system can show both
without this code. Identifiers are deterministic UUIDs: the same input gives the same ids.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

import pandas as pd
from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from interop.fhir import codes
from interop.fhir.exporter import uscore
from interop.fhir.exporter.followup import visit_resources
from interop.fhir.exporter.sessions import session_resources
from interop.fhir.inputs import INPUT_SYSTEM, input_observations
from interop.fhir.strict import type_errors
from interop.fhir.util import NO_SCREENING_TIME, set_time
from models.clinical.eligibility import EligibilityResult
from models.contract import schema

log = logging.getLogger(__name__)

BASE = "https://kapcds.example.org/fhir"
PATIENT_ID_SYSTEM = f"{BASE}/NamingSystem/patient-id"
OUTCOME_SYSTEM = f"{BASE}/CodeSystem/outcome"
MODEL_SYSTEM = f"{BASE}/CodeSystem/model-version"
STATUS_SYSTEM = f"{BASE}/CodeSystem/eligibility-status"
FINDING_SYSTEM = f"{BASE}/CodeSystem/eligibility-finding"
OBSERVATION_SYSTEM = f"{BASE}/CodeSystem/observation"
TEST_DATA_TAG = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason",
                 "code": "HTEST", "display": "test health data"}
DISCLAIMER = ("Synthetic data only: produced by KAP-CDS, a decision-support prototype "
              "trained on synthetic patients. Not for use with real patients; it informs and "
              "never replaces a clinician's judgement.")
NO_PREDICTION_TIME = ("Occurrence time left out: no recorded prediction of these inputs by this "
                      "model version gives its time, and the export time is not a clinical "
                      "time (Bundle.timestamp says when the file was made).")
NO_SCREEN_TIME = ("Effective time left out: the rule-based screen was computed from the stored "
                  "values when the file was made (Bundle.timestamp); that is not a clinical "
                  "time.")
_NAMESPACE = uuid.UUID("6f1f3a52-3b7e-4a8e-9a43-7c1d2b5e8f10")
_STATUS_LABELS = {"eligible": "eligible", "eligible_with_cautions": "eligible with cautions",
                  "not_eligible": "not eligible", "no_indication": "no indication"}


class FhirExportError(ValueError):
    """The assessment could not be expressed as a valid FHIR R4 Bundle."""


def _id(*parts: str) -> str:
    """A deterministic UUID for a resource, so the same assessment gets the same ids."""
    return str(uuid.uuid5(_NAMESPACE, "/".join(parts)))


def _urn(*parts: str) -> str:
    return f"urn:uuid:{_id(*parts)}"


def _is_uuid(text: Any) -> bool:
    try:
        uuid.UUID(str(text))
    except ValueError:
        return False
    return True


def _quantity(value: float, unit: str, code: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": codes.UCUM, "code": code}


def _loinc(code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": codes.LOINC, "code": code, "display": display}],
            "text": display}


def observations_from_patient(patient_row: Mapping[str, Any],
                              measured_at: Mapping[str, str] | None = None
                              ) -> list[dict[str, Any]]:
    """Observations (LOINC, UCUM) for the stored screening values, used as the basis of the
    RiskAssessments when no source Observations are given. ``measured_at`` (feature ->
    ISO time) gives the recorded measurement time; without one the effective time is left
    out with its reason (``interop.fhir.util.set_time``)."""
    times = dict(measured_at or {})
    pid = str(patient_row[schema.ID_COLUMN])
    subject = {"reference": _urn("Patient", pid)}

    features = {"phq9": ("phq9_baseline",), "gad7": ("gad7_baseline",),
                "bp": ("systolic_bp", "diastolic_bp"), "hr": ("heart_rate",), "bmi": ("bmi",)}

    def obs(key: str, code: str, display: str, **value: Any) -> dict[str, Any]:
        concept = _loinc(code, display)  # + KAP-CDS: a screening value, never a follow-up one
        concept["coding"].append({"system": INPUT_SYSTEM, "code": f"screening-{key}"})
        moments = {times.get(f) for f in features[key]}
        moment = moments.pop() if len(moments) == 1 else None  # BP: one time for both
        return set_time({"resourceType": "Observation", "id": _id("Observation", pid, key),
                         "status": "final", "code": concept, "subject": subject, **value},
                        "effectiveDateTime", moment, NO_SCREENING_TIME)

    out = []
    if patient_row.get("phq9_baseline") is not None:
        out.append(obs("phq9", "44261-6", "PHQ-9 total score",
                       valueInteger=int(patient_row["phq9_baseline"])))
    if patient_row.get("gad7_baseline") is not None:
        out.append(obs("gad7", "70274-6", "GAD-7 total score",
                       valueInteger=int(patient_row["gad7_baseline"])))
    if patient_row.get("systolic_bp") is not None and patient_row.get("diastolic_bp") is not None:
        out.append(obs("bp", "85354-9", "Blood pressure panel", component=[
            {"code": _loinc("8480-6", "Systolic blood pressure"),
             "valueQuantity": _quantity(int(patient_row["systolic_bp"]), "mmHg", "mm[Hg]")},
            {"code": _loinc("8462-4", "Diastolic blood pressure"),
             "valueQuantity": _quantity(int(patient_row["diastolic_bp"]), "mmHg", "mm[Hg]")}]))
    if patient_row.get("heart_rate") is not None:
        out.append(obs("hr", "8867-4", "Heart rate", valueQuantity=_quantity(
            int(patient_row["heart_rate"]), "beats/min", "/min")))
    if patient_row.get("bmi") is not None:
        out.append(obs("bmi", "39156-5", "Body mass index", valueQuantity=_quantity(
            round(float(patient_row["bmi"]), 2), "kg/m2", "kg/m2")))
    return out


def _features_of(resource: Mapping[str, Any]) -> list[str]:
    """Schema features a LOINC Observation (or its components) carries."""
    nodes = [resource, *(resource.get("component") or [])]
    return [codes.OBSERVATION_CODES[c["code"]][0] for node in nodes
            for c in (node.get("code") or {}).get("coding") or []
            if c.get("system") == codes.LOINC and c.get("code") in codes.OBSERVATION_CODES]


def _patient(patient_row: Mapping[str, Any]) -> dict[str, Any]:
    pid = str(patient_row[schema.ID_COLUMN])
    res: dict[str, Any] = {"resourceType": "Patient", "id": _id("Patient", pid),
                           "meta": {"tag": [TEST_DATA_TAG]},
                           "identifier": [{"system": PATIENT_ID_SYSTEM, "value": pid}]}
    if patient_row.get(schema.NAME_COLUMN):
        res["name"] = [{"text": str(patient_row[schema.NAME_COLUMN])}]
    if patient_row.get("sex") in ("female", "male"):
        res["gender"] = patient_row["sex"]
    return res


def _basis(items: Sequence[Mapping[str, Any] | str]) -> tuple[list[dict[str, str]],
                                                               list[dict[str, Any]]]:
    refs, entries = [], []
    for item in items:
        if isinstance(item, str):
            refs.append({"reference": item})
            continue
        resource = dict(item)
        if resource.get("resourceType") != "Observation":
            raise FhirExportError(f"basis must be Observations, got {resource.get('resourceType')}")
        rid = resource.get("id")
        url = f"urn:uuid:{rid}" if _is_uuid(rid) else _urn(
            "Observation", str(rid or json.dumps(resource, sort_keys=True)))
        refs.append({"reference": url})
        entries.append({"fullUrl": url, "resource": resource})
    return refs, entries


def _risk(name: str, probability: float, context: dict[str, Any], basis: list[dict[str, str]],
          rationale: str | None) -> dict[str, Any]:
    spec = schema.outcome(name)
    if not 0.0 <= float(probability) <= 1.0:
        raise FhirExportError(f"{name}: probability {probability} is not between 0 and 1")
    prediction: dict[str, Any] = {
        "outcome": {"coding": [{"system": OUTCOME_SYSTEM, "code": name,
                                "display": spec.label}], "text": spec.label},
        "probabilityDecimal": round(float(probability), 6),
        "rationale": spec.definition + (f" Uncertainty: {rationale}" if rationale else ""),
    }
    return set_time({"resourceType": "RiskAssessment", "id": context["id"](name),
                     "status": "final", "subject": context["subject"],
                     "method": context["method"], "basis": basis or None,
                     "prediction": [prediction], "note": [{"text": DISCLAIMER}]},
                    "occurrenceDateTime", context["predicted"], NO_PREDICTION_TIME)


def _eligibility(result: EligibilityResult, context: dict[str, Any]) -> dict[str, Any]:
    components = [{"code": {"coding": [{"system": FINDING_SYSTEM, "code": f.code,
                                        "display": f.label}], "text": f"{f.kind}: {f.label}"},
                   "valueString": f.reason}
                  for f in (*result.indications, *result.exclusions, *result.cautions)]
    screen_obs = {
        "resourceType": "Observation", "id": context["id"]("eligibility"), "status": "final",
        "subject": context["subject"],
        "code": {"coding": [{"system": OBSERVATION_SYSTEM, "code": "eligibility-screen",
                             "display": "KAP eligibility screen (rule-based)"}],
                 "text": "KAP eligibility screen (rule-based, clinical-reference §4)"},
        "valueCodeableConcept": {"coding": [{"system": STATUS_SYSTEM, "code": result.status,
                                             "display": _STATUS_LABELS[result.status]}],
                                 "text": result.summary},
        "component": components or None, "note": [{"text": DISCLAIMER}]}
    return set_time(screen_obs, "effectiveDateTime", None, NO_SCREEN_TIME)


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise FhirExportError(f"naive time {moment.isoformat()}: say which zone it is in")
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


def validate_bundle(bundle: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a Bundle with the R4 models and the JSON types of its primitives (the
    models alone coerce "0.62" to a decimal), and return it as plain JSON-ready data."""
    wrong = type_errors(dict(bundle))
    if wrong:
        raise FhirExportError("the exported Bundle is not valid FHIR R4 JSON: "
                              + "; ".join(wrong[:5]))
    try:
        model = get_fhir_model_class("Bundle").model_validate(dict(bundle))
    except ValidationError as exc:
        raise FhirExportError(f"the exported Bundle is not valid FHIR R4: {exc}") from exc
    return json.loads(model.model_dump_json())


def export_assessment(patient_row: Mapping[str, Any], predictions: Mapping[str, float],
                      eligibility: EligibilityResult, model_version: str,
                      basis_observations: Sequence[Mapping[str, Any] | str] | None = None,
                      *, uncertainty: Mapping[str, str] | None = None,
                      generated_at: datetime | None = None,
                      measured_at: Mapping[str, datetime] | None = None,
                      predicted_at: datetime | None = None,
                      sessions: pd.DataFrame | Sequence[Mapping[str, Any]] | None = None,
                      every_input: bool = False,
                      followup: pd.DataFrame | None = None) -> dict[str, Any]:
    """The assessment as a validated collection Bundle (a plain dict, JSON-ready).

    ``basis_observations``: Observation resources (included in the Bundle) and/or
    references such as ``Observation/abc`` (e.g. ``ImportResult.basis_observations``);
    None builds Observations from the patient's stored screening values.
    ``uncertainty`` (outcome -> text) is added to each prediction's rationale.
    ``sessions`` (the patient's recorded sessions, e.g. ``records.frames.sessions_frame``)
    adds one Encounter per session with its Observations (``interop.fhir.exporter.sessions``);
    ``every_input`` adds the model inputs no LOINC Observation carries
    (``interop.fhir.inputs``), so the Bundle imports whole into another KAP-CDS store;
    ``followup`` (``records.followup.frames.visits_frame``) adds the visits after the series
    (``interop.fhir.exporter.followup``).
    Times (issue 23): ``generated_at`` (default now) is only ``Bundle.timestamp``; screening
    Observations take ``measured_at`` (feature -> recorded measurement time), RiskAssessments
    ``predicted_at`` (a recorded prediction's time); without them the element is left out
    with a data-absent-reason and a note saying why, never filled with the export time.
    """
    unknown = sorted(set(predictions) - set(schema.outcome_names()))
    if unknown:
        raise FhirExportError(f"unknown outcome(s): {', '.join(unknown)}")
    when = (generated_at or datetime.now(timezone.utc)).isoformat(timespec="seconds")
    pid = str(patient_row[schema.ID_COLUMN])
    patient = _patient(patient_row)
    measured = {k: _iso(v) for k, v in (measured_at or {}).items() if v is not None}
    if basis_observations is None:
        basis_observations = observations_from_patient(patient_row, measured)
    basis, basis_entries = _basis(basis_observations)
    context = {"subject": {"reference": _urn("Patient", pid)},
               "predicted": _iso(predicted_at) if predicted_at else None,
               "method": {"coding": [{"system": MODEL_SYSTEM, "code": model_version}],
                          "text": f"KAP-CDS outcome model version {model_version}"},
               "id": lambda key: _id(pid, model_version, key)}
    resources = [_risk(name, predictions[name], context, basis, (uncertainty or {}).get(name))
                 for name in schema.outcome_names() if name in predictions]
    resources.append(_eligibility(eligibility, context))
    entries = [{"fullUrl": _urn("Patient", pid), "resource": patient}, *basis_entries]
    entries += [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources]
    if every_input:  # the inputs no LOINC Observation or Patient field carries
        carried = {"sex", *(n for o in basis_entries for n in _features_of(o["resource"]))}
        entries += [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r}
                    for r in input_observations(patient_row, measured, carried)]
    if sessions is not None:
        entries += session_resources(pid, context["subject"], sessions)
    if followup is not None:
        entries += visit_resources(pid, context["subject"], followup)
    entries = uscore.apply(entries, patient_row, context["subject"], pid, OUTCOME_SYSTEM,
                           export_time=when)  # a stand-in time never earns a profile
    bundle = _drop_none({"resourceType": "Bundle", "id": _id("Bundle", pid, model_version, when),
                         "meta": {"tag": [TEST_DATA_TAG]}, "type": "collection",
                         "timestamp": when, "entry": entries})
    out = validate_bundle(bundle)
    log.info("exported assessment of %s (%d predictions, %d bundle entries, model %s)", pid,
             len(resources) - 1, len(entries), model_version)
    return out
