"""`kapcds serve-cds` as a subprocess on 127.0.0.1, called over real HTTP like an EHR."""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from cds_support import ISS, EhrKey, FhirStub, hook_body, issuers_file, prefetch_for, validate
from fhir_builders import COMPLETIONS, bundle, full_record
from gate_support import GATED, uninformative

from interop.cds_hooks.cards import DISCLAIMER
from models.clinical.quality_gate import UNRELIABLE
from models.contract import schema

PASSWORD = "test-admin-password-1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _call(url: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET",
                                     headers={"Content-Type": "application/json"})
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def _store_patient(home: Path) -> str:
    """A clinician imported FHIR Patient ehr-1 earlier and filled its gaps."""
    from interop.fhir.importer.patient import import_bundle
    from interop.fhir.importer.store import import_into_store
    from records.db import session_factory
    from records.first_run import ensure_store

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KAPCDS_HOME", str(home))
        mp.setenv("KAPCDS_ADMIN_PASSWORD", PASSWORD)
        mp.delenv("KAPCDS_DATABASE_URL", raising=False)
        engine = ensure_store()
        with session_factory(engine)() as session:
            # Imported from the EHR that calls (issue 25: a FHIR id is matched only
            # within its source, never bare).
            result = import_bundle(bundle(full_record("ehr-1"), full_urls=False), source=ISS)
            kap_id = import_into_store(session, result, completions=COMPLETIONS).patient_id
        engine.dispose()
    return kap_id


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    from base.signing import installation_key
    from models.store.registry import Registry

    home = tmp_path_factory.mktemp("cds-home")
    # Signed with the service's own key (its KAPCDS_HOME): it trusts no other.
    registry = Registry(home / "registry", key=installation_key(home / "keys" / "signing.key"))
    model_set, card, _ = uninformative()  # one outcome trained on shuffled labels
    version = registry.register(model_set, card)
    registry.promote(version)
    kap_id = _store_patient(home)
    key, port = EhrKey(), _free_port()
    with FhirStub(["ehr-2"]) as stub:
        env = {**os.environ, "KAPCDS_HOME": str(home), "KAPCDS_ADMIN_PASSWORD": PASSWORD,
               "KAPCDS_CDS_ISSUERS": str(issuers_file(home / "issuers.json", key,
                                                      [stub.base])),
               "KAPCDS_CDS_DASHBOARD_URL": "https://kap.example"}
        env.pop("KAPCDS_DATABASE_URL", None)
        exe = Path(sys.executable).with_name("kapcds")
        cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "kapcds.cli"]
        proc = subprocess.Popen([*cmd, "serve-cds", "--host", "127.0.0.1", "--port",
                                 str(port), "--registry", str(home / "registry")], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"{base}/cds-services", timeout=2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    proc.kill()
                    out, err = proc.communicate()
                    pytest.fail(f"serve-cds did not start: {err.decode()[-2000:]}")
                time.sleep(0.3)
        yield {"base": base, "key": key, "stub": stub, "home": home, "kap_id": kap_id,
               "version": version, "model_set": model_set}
        proc.terminate()
        proc.wait(timeout=20)


def _url(service: dict[str, Any]) -> str:
    return f"{service['base']}/cds-services/kapcds-patient-view"


def test_discovery_over_http(service):
    status, doc = _call(f"{service['base']}/cds-services")
    assert status == 200
    validate(doc, "discovery")
    assert doc["services"][0]["id"] == "kapcds-patient-view"


def test_patient_view_with_prefetch_predicts_for_a_stored_patient(service):
    url = _url(service)
    status, body = _call(url, hook_body("ehr-1", prefetch_for("ehr-1")),
                         service["key"].token(url))
    assert status == 200, body
    validate(body, "response")
    cards = body["cards"]
    assert all(service["version"] in c["detail"] and DISCLAIMER in c["detail"] for c in cards)
    benefit = next(c for c in cards if c["summary"].startswith("Predicted benefit"))
    from records.db import make_engine, session_factory
    from records.repository import get_patient

    engine = make_engine(f"sqlite:///{service['home'] / 'kapcds.sqlite3'}")
    with session_factory(engine)() as session:
        features = get_patient(session, service["kap_id"]).features()
    engine.dispose()
    expected = service["model_set"].predict_proba(pd.DataFrame([features]))["response"]
    assert f"response {expected.iloc[0]:.0%}" in benefit["summary"]
    risks = next(c for c in cards if c["summary"].startswith("Side-effect risks"))
    gated = schema.outcome(GATED)  # the served card's quality gate holds it back
    assert (gated.short or gated.label) not in risks["summary"]
    assert f"**{gated.label}**: not shown — {UNRELIABLE}." in risks["detail"]
    # issue 24: the stored record was imported from a file, so its KAP id stays private
    assert cards[-1]["links"][0] == {"label": "KAP-CDS candidate review", "type": "smart",
                                     "url": "https://kap.example/"}  # a SMART launch
    assert service["kap_id"] not in json.dumps(cards)


def test_patient_view_without_prefetch_fetches_from_the_fhir_server(service):
    url, stub = _url(service), service["stub"]
    status, body = _call(url, hook_body("ehr-2", fhir_server=stub.base),
                         service["key"].token(url))
    assert status == 200, body
    validate(body, "response")
    paths = [p for p, _ in stub.seen]
    assert "/fhir/Patient/ehr-2" in paths and any(p.startswith("/fhir/Condition?") for p in paths)
    assert {auth for _, auth in stub.seen} == {"Bearer stub-token"}
    (blocked,) = [c for c in body["cards"] if c["summary"].startswith("No KAP prediction")]
    assert schema.feature("route").label in blocked["detail"]  # not in FHIR: missing
    for fetched in ("phq9_baseline", "gad7_baseline", "heart_rate", "bmi"):
        assert schema.feature(fetched).label not in blocked["detail"], fetched
    assert not any("%" in c["summary"] for c in body["cards"])  # nothing invented


def _unsigned(claims: dict[str, Any]) -> str:
    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def test_bad_or_unsigned_requests_are_refused_and_audited(service):
    import jwt

    url, key = _url(service), service["key"]
    good = key.token(url)
    claims = jwt.decode(good, options={"verify_signature": False})
    cases = {
        "no token": None,
        "unsigned": _unsigned({**claims, "jti": "u1"}),
        "other key": EhrKey().token(url),
        "wrong audience": key.token("https://elsewhere.example/cds-services/x"),
        "unknown issuer": key.token(url, iss="https://rogue.example"),
        "expired": key.token(url, lifetime=-120),
        "hmac": jwt.encode({**claims, "jti": "h1"}, "s" * 32, algorithm="HS256"),
        "too long lived": key.token(url, lifetime=3600),
    }
    for name, token in cases.items():
        status, body = _call(url, hook_body("ehr-1", prefetch_for("ehr-1")), token)
        assert status == 401, name
        assert "cards" not in body, name
    assert _call(url, hook_body("ehr-1", prefetch_for("ehr-1")), good)[0] == 200
    assert _call(url, hook_body("ehr-1", prefetch_for("ehr-1")), good)[0] == 401  # replay
    status, body = _call(url, hook_body("ehr-1", fhir_server="http://10.9.9.9/fhir"),
                         key.token(url))
    assert status == 412 and "not one configured" in body["error"]
    status, body = _call(url, {"hook": "patient-view", "context": {"patientId": "../x"}},
                         key.token(url))
    assert status == 400 and "context.patientId" in body["error"]
    from records.db import make_engine, session_factory
    from records.tables.security import AuditEntry

    engine = make_engine(f"sqlite:///{service['home'] / 'kapcds.sqlite3'}")
    with session_factory(engine)() as session:
        rows = session.query(AuditEntry).filter(AuditEntry.username.like("cds:%")).all()
    engine.dispose()
    # issue 24: refused calls are audited per issuer and minute (first one at once, the
    # rest counted when the minute is over), not one row each
    refused = [r for r in rows if r.action == "cds_refused"]
    assert 1 <= len(refused) < len(cases) + 1 and all(r.outcome == "denied" for r in refused)
    assert any(r.action == "prediction_view" and r.outcome == "success"
               and r.patient_id == service["kap_id"] for r in rows)
    assert any(r.action == "prediction_view" and r.outcome == "failure" for r in rows)


def test_twenty_calls_at_once_are_all_answered(service):
    """Issue 31: twenty calls at once took up to 40 store connections (a call's session and
    its audit checkpoint's) from a pool of 15 and failed after 30 s; the service now lets a
    few run at a time and queues the rest without holding a connection."""
    from concurrent.futures import ThreadPoolExecutor

    url, key = _url(service), service["key"]
    body = hook_body("ehr-1", prefetch_for("ehr-1"))
    tokens = [key.token(url) for _ in range(20)]
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda token: _call(url, body, token), tokens))
    assert [status for status, _ in answers] == [200] * 20, answers[:2]
    assert all(any(c["summary"].startswith("Predicted benefit") for c in answer["cards"])
               for _, answer in answers)
