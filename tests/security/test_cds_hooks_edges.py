"""Issue 24, attack 5: the CDS Hooks service. A redirect carried the EHR's bearer token to
another host, ``…/fhir/../x`` passed the allow-list, bodies were read (whole, unlimited)
before authentication, deep JSON gave an unaudited 500, every refused call wrote a row, the
``jti`` replay list was lost on restart, and a card link revealed the KAP id of a patient
imported from a file."""

from __future__ import annotations

import asyncio
import concurrent.futures
import http.server
import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from security_helpers import patient
from sqlalchemy import Engine, select

from interop.cds_hooks.cards import PREFETCH, SERVICE_ID, link_card
from interop.cds_hooks.fetch import FetchError, check_server, fetch
from interop.cds_hooks.service import create_app, patient_data
from interop.cds_hooks.settings import CdsSettings, Issuer
from records import repository
from records.db import make_engine, session_factory
from records.migrate import upgrade
from records.tables.security import AuditEntry

ISS = "https://ehr.example.org"
BASE = "http://testserver"
PATH = f"/cds-services/{SERVICE_ID}"


class _Ehr:
    def __init__(self) -> None:
        self.private = ec.generate_private_key(ec.SECP384R1())
        public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.private.public_key()))
        self.jwks = {"keys": [{**public, "kid": "k1", "use": "sig", "alg": "ES384"}]}

    def token(self, jti: str | None = None) -> str:
        now = int(time.time())
        return jwt.encode({"iss": ISS, "sub": "ehr", "aud": f"{BASE}{PATH}", "iat": now,
                           "exp": now + 120, "jti": jti or str(uuid.uuid4())}, self.private,
                          algorithm="ES384", headers={"kid": "k1"})


@pytest.fixture
def ehr() -> _Ehr:
    return _Ehr()


@pytest.fixture
def store() -> Iterator[Engine]:
    engine = make_engine()
    upgrade(engine)
    yield engine
    engine.dispose()


def _settings(ehr: _Ehr) -> CdsSettings:
    return CdsSettings(base_url=BASE, issuers={ISS: Issuer(ISS, jwks=ehr.jwks)})


def _app(ehr: _Ehr, store: Engine, registry: Path | None = None) -> Any:
    return create_app(_settings(ehr), registry_dir=registry, engine=store,
                      gate=lambda outcome: True)


def _audit(store: Engine, action: str) -> list[AuditEntry]:
    with session_factory(store)() as db:
        return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def _body(pid: str = "ehr-1") -> dict[str, Any]:
    return {"hook": "patient-view", "hookInstance": str(uuid.uuid4()),
            "context": {"patientId": pid, "userId": "Practitioner/1"},
            "prefetch": {key: {"resourceType": "Bundle", "type": "searchset", "entry": []}
                         for key in PREFETCH} | {
                "patient": {"resourceType": "Patient", "id": pid}}}


def test_an_unauthenticated_body_is_never_read(ehr: _Ehr, store: Engine):
    app, received = _app(ehr, store), []
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        received.append(1)
        return {"type": "http.request", "body": b"x" * 65536, "more_body": len(received) < 800}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": PATH, "raw_path": PATH.encode(),
             "query_string": b"", "root_path": "", "client": ("10.0.0.9", 5000),
             "server": ("testserver", 80),
             "headers": [(b"host", b"testserver"), (b"content-type", b"application/json")]}
    # in a thread of its own: a browser test's Playwright loop may be running in this one
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, app(scope, receive, send)).result()
    assert sent[0]["status"] == 401
    assert len(received) <= 1, f"{len(received) * 64} KiB of an unauthenticated body read"


def test_body_size_and_json_depth_limits(ehr: _Ehr, store: Engine):
    with TestClient(_app(ehr, store), base_url=BASE) as client:
        big = client.post(PATH, content=b"[" + b"0," * 600_000 + b"0]",
                          headers={"Authorization": f"Bearer {ehr.token()}"})
        assert big.status_code == 413
        deep = client.post(PATH, content=b"[" * 50_000 + b"]" * 50_000,
                           headers={"Authorization": f"Bearer {ehr.token()}"})
        assert deep.status_code == 400 and "nests deeper" in deep.json()["error"]
    failures = [e.detail for e in _audit(store, "prediction_view") if e.outcome == "failure"]
    assert any("exceeds" in d for d in failures) and any("nests deeper" in d for d in failures)


class _Handler(http.server.BaseHTTPRequestHandler):
    seen: list[tuple[str, str | None]] = []
    target = ""

    def do_GET(self) -> None:  # noqa: N802 - the http.server interface
        type(self).seen.append((self.path, self.headers.get("Authorization")))
        if self.path.startswith("/fhir/"):
            self.send_response(302)
            self.send_header("Location", f"{type(self).target}/steal{self.path}")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/fhir+json")
        self.end_headers()
        self.wfile.write(b'{"resourceType": "Patient", "id": "ehr-1"}')

    def log_message(self, *args: Any) -> None:
        pass


def test_a_redirect_never_carries_the_token_elsewhere():
    servers = [http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler) for _ in range(2)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    listed, other = (f"http://127.0.0.1:{s.server_address[1]}" for s in servers)
    _Handler.seen, _Handler.target = [], other.replace("127.0.0.1", "localhost")
    try:
        with pytest.raises(FetchError, match="redirects are not followed"):
            fetch(f"{listed}/fhir", "patient", "ehr-1", "secret-token", 5)
    finally:
        for server in servers:
            server.shutdown()
    assert not [s for s in _Handler.seen if s[0].startswith("/steal")], _Handler.seen


@pytest.mark.parametrize("url", ["https://ehr.example.org/fhir/../admin",
                                 "https://ehr.example.org/fhir/%2e%2e/admin",
                                 "https://ehr.example.org/fhir/x%2f..%2fadmin",
                                 "https://user@ehr.example.org/fhir"])
def test_dot_segments_do_not_pass_the_allow_list(url: str):
    issuer = Issuer(ISS, jwks={"keys": []}, fhir_servers=("https://ehr.example.org/fhir",))
    assert check_server("https://ehr.example.org/fhir/R4", issuer)
    with pytest.raises(FetchError, match="refused"):
        check_server(url, issuer)


def test_a_token_is_refused_again_after_a_restart(ehr: _Ehr, store: Engine):
    token = ehr.token(jti="only-once")
    with TestClient(_app(ehr, store), base_url=BASE) as client:
        first = client.post(PATH, json=_body(), headers={"Authorization": f"Bearer {token}"})
    assert first.status_code != 401, first.text
    with TestClient(_app(ehr, store), base_url=BASE) as restarted:
        again = restarted.post(PATH, json=_body(), headers={"Authorization": f"Bearer {token}"})
    assert again.status_code == 401 and "already used" in again.json()["error"]


def test_refused_calls_are_audited_per_issuer_and_minute(ehr: _Ehr, store: Engine):
    with TestClient(_app(ehr, store), base_url=BASE) as client:
        for n in range(60):
            token = ehr.token() if n % 2 else "not-a-jwt"
            bad = client.post(PATH, json=_body(), headers={"Authorization": f"Bearer {token}x"})
            assert bad.status_code == 401
    entries = [e.detail for e in _audit(store, "cds_refused")]
    assert 2 <= len(entries) <= 8, entries  # at most two per issuer and minute
    counted = sum(int(m.group(1)) if (m := re.match(r"(\d+) more", d)) else 1
                  for d in entries)
    assert counted == 60 and not _audit(store, "access_denied")


def test_every_500_is_audited(ehr: _Ehr, store: Engine, tmp_path: Path):
    registry = tmp_path / "registry"
    registry.mkdir()
    (registry / "CURRENT").write_text("20260101T000000Z-abcdef\n")  # refused: a 500
    with TestClient(_app(ehr, store, registry), base_url=BASE,
                    raise_server_exceptions=False) as client:
        answer = client.post(PATH, json=_body(), headers={"Authorization": f"Bearer "
                                                                           f"{ehr.token()}"})
    assert answer.status_code == 500 and "Traceback" not in answer.text
    errors = _audit(store, "cds_error")
    assert errors and "RegistryError" in errors[0].detail


def test_a_card_link_does_not_reveal_the_kap_id_of_a_file_import(store: Engine):
    with session_factory(store)() as db:
        kap_id = repository.add_patient(db, patient(7), import_source={
            "format": "ndjson", "fhir_patient_id": "ehr-1"}).patient_id
        db.commit()
    data = patient_data([], "ehr-1", store, ISS)
    card = link_card(data, "https://kap.example", None)
    assert kap_id not in json.dumps(card)
