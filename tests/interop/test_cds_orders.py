"""CDS Hooks order-select / order-sign (issue 26): a ketamine order checked as it is written,
feedback stored, CORS on every endpoint. Requests and responses checked against the
CDS Hooks 2.0 JSON schema."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
import pytest
from cds_support import ISS, EhrKey, prefetch_for, validate
from fastapi.testclient import TestClient
from sqlalchemy import select

from interop.cds_hooks.cards import ModelInfo, PatientData
from interop.cds_hooks.orders import body_weight_kg, hook_cards, ketamine_orders, order_cards
from interop.cds_hooks.service import create_app
from interop.cds_hooks.settings import CdsSettings, Issuer
from models.contract import schema
from records.cds_feedback import override_rates
from records.db import make_engine, session_factory
from records.migrate import upgrade
from records.tables.cds import CdsFeedback

BASE = "https://kapcds.example"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"


def _order(oid: str, concept: dict, route: str | None, dose: dict | None) -> dict[str, Any]:
    dosage: dict[str, Any] = {}
    if route:
        dosage["route"] = {"coding": [{"system": SNOMED, "code": route}]}
    if dose:
        dosage["doseAndRate"] = [{"doseQuantity": dose}]
    return {"resourceType": "MedicationRequest", "id": oid, "status": "draft",
            "intent": "order", "subject": {"reference": "Patient/ehr-1"},
            "medicationCodeableConcept": concept, "dosageInstruction": [dosage]}


IV_KETAMINE = _order("mr-ket", {"coding": [{"system": RXNORM, "code": "6130",
                                             "display": "ketamine"}]},
                     "47625008", {"value": 0.5, "unit": "mg/kg", "code": "mg/kg"})
SPRAVATO = _order("mr-esk", {"text": "Spravato 28 MG per actuation nasal spray"},
                  "46713006", {"value": 56, "unit": "mg", "code": "mg"})
STATIN = _order("mr-ator", {"coding": [{"system": RXNORM, "code": "83367",
                                        "display": "atorvastatin"}]}, None, None)
WEIGHT = {"resourceType": "Observation", "id": "w", "status": "final",
          "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
          "effectiveDateTime": "2026-11-30", "valueQuantity": {"value": 80, "code": "kg"}}


def _draft(*orders: dict) -> dict[str, Any]:
    return {"draftOrders": {"resourceType": "Bundle", "type": "collection",
                            "entry": [{"resource": o} for o in orders]}}


def test_ketamine_and_esketamine_orders_are_recognised_with_route_and_dose() -> None:
    orders = ketamine_orders(_draft(IV_KETAMINE, SPRAVATO, STATIN), [WEIGHT])
    assert [(o.reference, o.drug, o.route) for o in orders] == [
        ("MedicationRequest/mr-ket", "ketamine", "iv"),
        ("MedicationRequest/mr-esk", "esketamine", "intranasal_esketamine")]
    assert (orders[0].dose_mg_per_kg, orders[0].esketamine_dose_mg) == (0.5, None)
    # esketamine stays in mg (HAZ-240): the weight is not used, nothing is put per kg
    assert (orders[1].dose_mg_per_kg, orders[1].esketamine_dose_mg) == (None, 56.0)
    assert orders[1].notes == ()
    assert body_weight_kg([WEIGHT]) == 80


def test_a_ketamine_dose_in_mg_needs_a_weight_or_is_missing_and_said_so() -> None:
    iv_mg = dict(IV_KETAMINE, dosageInstruction=[{
        "route": {"coding": [{"system": SNOMED, "code": "47625008"}]},
        "doseAndRate": [{"doseQuantity": {"value": 40, "code": "mg"}}]}])
    (order,) = ketamine_orders(_draft(iv_mg), [])
    assert order.dose_mg_per_kg is None and not order.dose_known
    assert "no body weight is recorded" in order.notes[0]
    (weighed,) = ketamine_orders(_draft(iv_mg), [WEIGHT])
    assert weighed.dose_mg_per_kg == pytest.approx(40 / 80)


def test_an_esketamine_order_per_kg_or_off_the_device_steps_is_refused() -> None:
    per_kg = dict(SPRAVATO, dosageInstruction=[{
        "route": {"coding": [{"system": SNOMED, "code": "46713006"}]},
        "doseAndRate": [{"doseQuantity": {"value": 1.0, "code": "mg/kg"}}]}])
    (order,) = ketamine_orders(_draft(per_kg), [WEIGHT])
    assert (order.dose_mg_per_kg, order.esketamine_dose_mg) == (None, None)
    assert "dosed in mg" in order.notes[0] and "not mg/kg" in order.notes[0]
    odd = dict(SPRAVATO, dosageInstruction=[{"doseAndRate": [{"doseQuantity": {
        "value": 70, "code": "mg"}}]}])
    (order,) = ketamine_orders(_draft(odd), [])
    assert order.esketamine_dose_mg is None and "28, 56 or 84 mg" in order.notes[0]


@pytest.fixture(scope="module")
def model(trained):
    return ModelInfo(trained[0], "20250601T000000Z-test00")


@pytest.fixture(scope="module")
def eligible(cohort):
    rows = cohort[0]
    row = rows[rows["psychosis_history"] == False].iloc[0]  # noqa: E712
    features = {n: row[n].item() if hasattr(row[n], "item") else row[n]
                for n in schema.feature_names()}
    features.update(substance_use="none", heart_disease="none", liver_disease="none",
                    vascular_contraindication=False, raised_icp=False, pregnant=False,
                    systolic_bp=125.0, diastolic_bp=80.0, primary_diagnosis="trd")
    return PatientData("ehr-1", features, [])


def test_an_excluded_patient_gets_a_critical_card_that_deletes_the_order(model, eligible):
    excluded = PatientData("ehr-1", {**eligible.features, "psychosis_history": True}, [])
    cards = order_cards(excluded, ketamine_orders(_draft(IV_KETAMINE), []), model,
                        "https://kap.example")
    validate({"cards": cards}, "response")
    (critical,) = [c for c in cards if c["summary"].startswith("Ketamine order for a patient")]
    assert critical["indicator"] == "critical"
    action = critical["suggestions"][0]["actions"][0]
    assert action == {"type": "delete", "description": "Remove MedicationRequest/mr-ket",
                      "resourceId": "MedicationRequest/mr-ket"}
    assert {r["code"] for r in critical["overrideReasons"]} >= {"benefit-outweighs-risk"}


def test_an_eligible_patient_gets_the_risks_for_the_ordered_route_and_dose(model, eligible):
    order = dict(IV_KETAMINE, dosageInstruction=[{
        "route": {"coding": [{"system": SNOMED, "code": "78421000"}]},
        "doseAndRate": [{"doseQuantity": {"value": 0.7, "code": "mg/kg"}}]}])
    cards = order_cards(eligible, ketamine_orders(_draft(order), []), model,
                        "https://kap.example")
    validate({"cards": cards}, "response")
    assert not any("suggestions" in c for c in cards)
    assert cards[0]["summary"] == "Ketamine order checked: ketamine, im, 0.70 mg/kg"
    assert any(c["summary"].startswith("Side-effect risks") for c in cards)


def test_an_esketamine_84_mg_order_is_checked_in_mg_without_a_weight(model, eligible):
    order = dict(SPRAVATO, dosageInstruction=[{
        "route": {"coding": [{"system": SNOMED, "code": "46713006"}]},
        "doseAndRate": [{"doseQuantity": {"value": 84, "code": "mg"}}]}])
    cards = order_cards(eligible, ketamine_orders(_draft(order), []), model,
                        "https://kap.example")
    validate({"cards": cards}, "response")
    assert cards[0]["summary"] == ("Ketamine order checked: esketamine, intranasal esketamine, "
                                   "84 mg")
    assert cards[0]["indicator"] == "info"
    assert "mg/kg" not in cards[0]["detail"]
    assert any(c["summary"].startswith("Side-effect risks") for c in cards)
    assert not any("model input(s) missing" in c["summary"] for c in cards)


def test_no_ketamine_in_the_draft_orders_means_no_cards(model, eligible) -> None:
    body = {"context": _draft(STATIN)}
    assert hook_cards("order-sign", body, eligible, [], model, "https://kap.example") == []


# --- over HTTP: discovery, order-sign, feedback and CORS ---------------------------------

class _Ehr(EhrKey):
    def token_for(self, path: str) -> str:
        now = int(time.time())
        return jwt.encode({"iss": ISS, "sub": "ehr", "aud": f"{BASE}{path}", "iat": now,
                           "exp": now + 60, "jti": str(uuid.uuid4())}, self.private,
                          algorithm="ES384", headers={"kid": self.kid, "typ": "JWT"})


@pytest.fixture
def served(tmp_path):
    store = make_engine(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    upgrade(store)
    ehr = _Ehr()
    settings = CdsSettings(base_url=BASE, issuers={ISS: Issuer(ISS, jwks=ehr.jwks)})
    app = create_app(settings, registry_dir=None, engine=store, gate=lambda outcome: True)
    with TestClient(app, base_url=BASE) as client:
        yield client, ehr, store
    store.dispose()


def _excluded_prefetch() -> dict[str, Any]:
    prefetch = prefetch_for("ehr-1")
    psychosis = {"resourceType": "Condition", "id": "c-psy",
                 "subject": {"reference": "Patient/ehr-1"},
                 "clinicalStatus": {"coding": [{"code": "active"}]},
                 "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm",
                                      "code": "F20.9"}]}}
    prefetch["conditions"]["entry"].append({"resource": psychosis,
                                            "search": {"mode": "match"}})
    return prefetch


def test_order_sign_over_http_then_feedback_and_cors(served) -> None:
    client, ehr, store = served
    preflight = client.options("/cds-services/kapcds-order-sign", headers={
        "Origin": "https://ehr-app.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] in ("*", "https://ehr-app.example")
    discovered = client.get("/cds-services", headers={"Origin": "https://ehr-app.example"})
    validate(discovered.json(), "discovery")
    assert discovered.headers["access-control-allow-origin"]
    assert {s["hook"] for s in discovered.json()["services"]} == {
        "patient-view", "order-select", "order-sign"}

    body = {"hook": "order-sign", "hookInstance": str(uuid.uuid4()),
            "context": {"userId": "Practitioner/1", "patientId": "ehr-1",
                        **_draft(IV_KETAMINE)}, "prefetch": _excluded_prefetch()}
    validate(body, "request")
    answer = client.post("/cds-services/kapcds-order-sign", json=body, headers={
        "Authorization": f"Bearer {ehr.token_for('/cds-services/kapcds-order-sign')}"})
    assert answer.status_code == 200, answer.text
    cards = answer.json()["cards"]
    validate(answer.json(), "response")
    critical = [c for c in cards if c["indicator"] == "critical" and "suggestions" in c]
    assert critical and critical[0]["suggestions"][0]["actions"][0]["type"] == "delete"

    feedback = {"feedback": [{
        "card": critical[0]["uuid"], "outcome": "overridden",
        "outcomeTimestamp": "2026-12-07T12:00:00Z",
        "overrideReason": {"reason": critical[0]["overrideReasons"][0],
                           "userComment": "psychiatry reviewed"}}]}
    path = "/cds-services/kapcds-order-sign/feedback"
    stored = client.post(path, json=feedback,
                         headers={"Authorization": f"Bearer {ehr.token_for(path)}"})
    assert stored.status_code == 200, stored.text
    with session_factory(store)() as db:
        (row,) = db.scalars(select(CdsFeedback)).all()
        assert row.outcome == "overridden" and row.comment == "psychiatry reviewed"
        rates = override_rates(db).set_index("card type")
    assert rates.loc["Ketamine order for a patient with an exclusion", "overridden"] == 1
    # a token for the hook's own URL is not valid for its feedback URL
    wrong = client.post(path, json=feedback, headers={
        "Authorization": f"Bearer {ehr.token_for('/cds-services/kapcds-order-sign')}"})
    assert wrong.status_code == 401
