"""A small EHR for the SMART App Launch tests: authorisation server + FHIR server (issue 26).

``oidc-provider-mock`` signs ID tokens but knows nothing of SMART (no ``launch`` parameter,
no ``patient`` in the token response, no ``smart-configuration``), so this Flask app plays
the EHR: ``/fhir/.well-known/smart-configuration``, ``/authorize`` (approves at once,
records the PKCE challenge), ``/token`` (verifies the ``code_verifier`` against the S256
challenge and fails otherwise; answers with an RS256 ID token signed by the key it
publishes at ``/jwks``, the ``patient`` and the scope) and FHIR ``Patient/{id}`` plus the
searches the importer needs. Every request is counted in ``requests``.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

from flask import Flask, jsonify, redirect, request
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from net_support import free_ports
from werkzeug.serving import make_server

CLIENT_ID = "kapcds-smart-test"
PATIENT_ID = "smart-pat-1"
PRACTITIONER = "Practitioner/prac-1"
SEARCHED = ("Observation", "Condition", "MedicationRequest", "MedicationStatement",
            "QuestionnaireResponse")


def patient_record(pid: str = PATIENT_ID, family: str = "Rivera") -> list[dict[str, Any]]:
    """A synthetic patient built like the FHIR import tests' ``full_record``."""
    subject = {"reference": f"Patient/{pid}"}

    def obs(oid: str, code: str, value: dict[str, Any]) -> dict[str, Any]:
        return {"resourceType": "Observation", "id": oid, "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
                "subject": subject, "effectiveDateTime": "2025-05-20", **value}

    def qty(value: float, unit: str) -> dict[str, Any]:
        return {"valueQuantity": {"value": value, "unit": unit, "code": unit,
                                  "system": "http://unitsofmeasure.org"}}

    return [
        {"resourceType": "Patient", "id": pid, "gender": "female", "birthDate": "1980-03-15",
         "name": [{"use": "official", "family": family, "given": ["Sam"]}]},
        obs("phq9", "44261-6", {"valueInteger": 19}),
        obs("gad7", "70274-6", qty(13, "{score}")),
        obs("hr", "8867-4", qty(76, "/min")),
        obs("bmi", "39156-5", qty(31.2, "kg/m2")),
        {"resourceType": "Condition", "id": "c-trd", "subject": subject,
         "clinicalStatus": {"coding": [{
             "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
             "code": "active"}]},
         "code": {"coding": [{"system": "http://snomed.info/sct", "code": "1153570009"}]}},
    ]


def s256(verifier: str) -> str:
    """The PKCE S256 challenge of ``verifier`` (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class SmartEhr:
    """The stub EHR; tests change ``claims`` (ID token), ``launches`` or ``records``."""

    def __init__(self, client_id: str = CLIENT_ID) -> None:
        self.client_id = client_id
        self.key = RSAKey.generate_key(2048, parameters={"kid": "ehr-1", "use": "sig",
                                                          "alg": "RS256"})
        self.base = ""
        self.requests: list[tuple[str, str]] = []
        self.codes: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, str] = {}  # access token -> patient
        self.launches: dict[str, str] = {"launch-123": PATIENT_ID}
        self.records: dict[str, list[dict[str, Any]]] = {PATIENT_ID: patient_record()}
        self.claims: dict[str, Any] = {}  # overrides for the next ID tokens (tests)
        self.signing_key: RSAKey | None = None  # sign with another key than /jwks shows
        self.fhir_user = PRACTITIONER
        self.token_errors: list[str] = []

    @property
    def fhir(self) -> str:
        return f"{self.base}/fhir"

    def configuration(self) -> dict[str, Any]:
        return {"issuer": self.fhir, "authorization_endpoint": f"{self.base}/authorize",
                "token_endpoint": f"{self.base}/token", "jwks_uri": f"{self.base}/jwks",
                "code_challenge_methods_supported": ["S256"],
                "grant_types_supported": ["authorization_code"],
                "scopes_supported": ["openid", "fhirUser", "launch", "launch/patient",
                                     "patient/*.rs"],
                "capabilities": ["launch-ehr", "launch-standalone", "client-public",
                                 "sso-openid-connect", "context-ehr-patient",
                                 "context-standalone-patient", "permission-v2"]}

    def id_token(self, nonce: str) -> str:
        now = int(time.time())
        claims = {"iss": self.fhir, "sub": "prac-1", "aud": self.client_id, "nonce": nonce,
                  "iat": now, "exp": now + 300, "fhirUser": f"{self.fhir}/{self.fhir_user}",
                  **self.claims}
        return jwt.encode({"alg": "RS256", "kid": "ehr-1"}, claims, self.signing_key or self.key)

    def authorize(self) -> Any:
        q = request.args
        scope = q.get("scope", "").split()
        problems = [name for name, ok in (
            ("response_type", q.get("response_type") == "code"),
            ("client_id", q.get("client_id") == self.client_id),
            ("code_challenge_method", q.get("code_challenge_method") == "S256"),
            ("code_challenge", bool(q.get("code_challenge"))),
            ("aud", q.get("aud") == self.fhir), ("state", bool(q.get("state"))),
            ("scope", {"openid", "fhirUser", "patient/*.rs"} <= set(scope)),
        ) if not ok]
        if problems:
            return jsonify({"error": "invalid_request", "fields": problems}), 400
        if "launch" in scope:
            patient = self.launches.get(q.get("launch", ""))
            if patient is None:
                return jsonify({"error": "invalid_request", "fields": ["launch"]}), 400
        else:
            patient = PATIENT_ID  # standalone: the "patient picker" chooses this one
        code = secrets.token_urlsafe(16)
        self.codes[code] = {"challenge": q["code_challenge"], "nonce": q.get("nonce", ""),
                            "redirect_uri": q.get("redirect_uri"), "patient": patient,
                            "scope": " ".join(scope)}
        back = {"code": code, "state": q["state"]}
        return redirect(f"{q.get('redirect_uri')}?{urlencode(back)}", code=302)

    def token(self) -> Any:
        form = request.form
        grant = self.codes.pop(form.get("code", ""), None)  # single use
        if grant is None or form.get("grant_type") != "authorization_code" \
                or form.get("redirect_uri") != grant["redirect_uri"] \
                or form.get("client_id") != self.client_id:
            self.token_errors.append("invalid_grant")
            return jsonify({"error": "invalid_grant"}), 400
        if s256(form.get("code_verifier", "")) != grant["challenge"]:
            self.token_errors.append("code_verifier")
            return jsonify({"error": "invalid_grant",
                            "error_description": "PKCE code_verifier does not match"}), 400
        access = secrets.token_urlsafe(24)
        self.tokens[access] = grant["patient"]
        return jsonify({"access_token": access, "token_type": "Bearer", "expires_in": 3600,
                        "scope": grant["scope"], "id_token": self.id_token(grant["nonce"]),
                        "patient": grant["patient"], "need_patient_banner": False})

    def _reader(self) -> str | None:
        header = request.headers.get("Authorization", "")
        return self.tokens.get(header.removeprefix("Bearer ").strip())

    def read(self, kind: str, rid: str) -> Any:
        if self._reader() != rid or kind != "Patient":
            return jsonify({"resourceType": "OperationOutcome"}), 401
        return jsonify(self.records[rid][0])

    def search(self, kind: str) -> Any:
        patient = request.args.get("patient", "")
        if self._reader() != patient:
            return jsonify({"resourceType": "OperationOutcome"}), 401
        found = [r for r in self.records.get(patient, []) if r["resourceType"] == kind]
        return jsonify({"resourceType": "Bundle", "type": "searchset", "total": len(found),
                        "entry": [{"resource": r} for r in found]})

    def app(self) -> Flask:
        app = Flask("smart-ehr-stub")

        @app.before_request
        def count() -> None:
            self.requests.append((request.method, request.path))

        app.add_url_rule("/fhir/.well-known/smart-configuration", "config",
                         lambda: jsonify(self.configuration()))
        app.add_url_rule("/authorize", "authorize", self.authorize)
        app.add_url_rule("/token", "token", self.token, methods=["POST"])
        app.add_url_rule("/jwks", "jwks",
                         lambda: jsonify(KeySet([self.key]).as_dict(private=False)))
        app.add_url_rule("/fhir/<kind>/<rid>", "read", self.read)
        app.add_url_rule("/fhir/<kind>", "search", self.search)
        return app


@contextmanager
def running_ehr(client_id: str = CLIENT_ID) -> Iterator[SmartEhr]:
    """The stub EHR on a free loopback port, in a thread, for the ``with`` block."""
    ehr = SmartEhr(client_id)
    (port,) = free_ports(1)
    server = make_server("127.0.0.1", port, ehr.app(), threaded=True)
    ehr.base = f"http://127.0.0.1:{port}"
    thread = threading.Thread(target=server.serve_forever, name="smart-ehr", daemon=True)
    thread.start()
    try:
        yield ehr
    finally:
        server.shutdown()
        thread.join(timeout=10)
