"""Test helpers for the CDS Hooks service: an EHR's signing key and JWTs, the issuers file,
a FHIR server stub on loopback, the card schema, and hook request bodies."""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jsonschema
import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from fhir_builders import full_record

ISS = "https://ehr.example.org"
KID = "ehr-key-1"
SCHEMA = json.loads((Path(__file__).parent / "schemas" / "cds-hooks-2.0.schema.json")
                    .read_text(encoding="utf-8"))


class EhrKey:
    """An ES384 key pair as an EHR holds it; ``jwks`` is what it publishes."""

    def __init__(self, kid: str = KID) -> None:
        self.kid = kid
        self.private = ec.generate_private_key(ec.SECP384R1())
        public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.private.public_key()))
        self.jwks = {"keys": [{**public, "kid": kid, "use": "sig", "alg": "ES384"}]}

    def token(self, aud: str, iss: str = ISS, lifetime: int = 120, **claims: Any) -> str:
        now = int(time.time())
        body = {"iss": iss, "sub": "ehr-client", "aud": aud, "iat": now,
                "exp": now + lifetime, "jti": str(uuid.uuid4()), **claims}
        return jwt.encode(body, self.private, algorithm="ES384",
                          headers={"kid": self.kid, "typ": "JWT"})


def issuers_file(path: Path, key: EhrKey, fhir_servers: list[str]) -> Path:
    path.write_text(json.dumps({ISS: {"jwks": key.jwks, "fhir_servers": fhir_servers}}))
    return path


def validate(instance: Any, definition: str) -> None:
    """Raise unless ``instance`` is a valid CDS Hooks ``response`` / ``discovery``."""
    schema = {**SCHEMA, "$ref": f"#/$defs/{definition}"}
    jsonschema.validate(instance, schema, format_checker=jsonschema.FormatChecker())


def searchset(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset", "total": len(resources),
            "entry": [{"resource": r, "search": {"mode": "match"}} for r in resources]}


def prefetch_for(pid: str) -> dict[str, Any]:
    """What an EHR prefetches for ``full_record(pid)`` (by the discovery templates)."""
    record = full_record(pid)
    by_type = {t: [r for r in record if r["resourceType"] == t]
               for t in ("Observation", "Condition", "MedicationRequest")}
    return {"patient": record[0], "observations": searchset(by_type["Observation"]),
            "conditions": searchset(by_type["Condition"]),
            "medications": searchset(by_type["MedicationRequest"]),
            "questionnaires": searchset([])}


def hook_body(pid: str, prefetch: dict[str, Any] | None = None,
              fhir_server: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"hook": "patient-view", "hookInstance": str(uuid.uuid4()),
                            "context": {"userId": "Practitioner/dr-1", "patientId": pid}}
    if prefetch is not None:
        body["prefetch"] = prefetch
    if fhir_server:
        body["fhirServer"] = fhir_server
        body["fhirAuthorization"] = {"access_token": "stub-token", "token_type": "Bearer",
                                     "expires_in": 300, "scope": "patient/*.read",
                                     "subject": "kapcds"}
    return body


class FhirStub:
    """A read-only FHIR server on 127.0.0.1 holding ``full_record(pid)`` for some pids.

    ``seen`` records (path, Authorization header) of every request."""

    def __init__(self, pids: list[str]) -> None:
        self.resources = [r for pid in pids for r in full_record(pid)]
        self.seen: list[tuple[str, str | None]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                stub.seen.append((self.path, self.headers.get("Authorization")))
                status, body = stub.answer(self.path)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/fhir+json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_port}/fhir"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def answer(self, path: str) -> tuple[int, dict[str, Any]]:
        parts = urlsplit(path)
        route = parts.path.removeprefix("/fhir/")
        if route.startswith("Patient/"):
            pid = route.split("/", 1)[1]
            found = [r for r in self.resources
                     if r["resourceType"] == "Patient" and r["id"] == pid]
            return (200, found[0]) if found else (404, {"resourceType": "OperationOutcome"})
        query = parse_qs(parts.query)
        subject = f"Patient/{query.get('patient', [''])[0]}"
        return 200, searchset([r for r in self.resources if r["resourceType"] == route
                               and (r.get("subject") or {}).get("reference") == subject])

    def __enter__(self) -> FhirStub:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
