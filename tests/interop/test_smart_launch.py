"""SMART App Launch against a stub EHR on loopback (issue 26): the protocol's guarantees.

The EHR (``tests/smart_support.py``) is a real HTTP authorisation + FHIR server in a
thread; the browser's part (following the redirect to ``/authorize`` and back) is played
by ``requests`` without following the last redirect, whose query is the callback.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from joserfc.jwk import RSAKey
from smart_support import CLIENT_ID, PATIENT_ID, SmartEhr, running_ehr, s256
from sqlalchemy import Engine, select

from dashboard.services.smart_launch import begin_launch, finish_launch
from interop.smart.flow import Pending
from interop.smart.settings import SmartError, SmartSettings
from records import make_engine, session_factory, upgrade
from records.repository import get_patient
from records.security.policy import Actor
from records.security.smart_accounts import add_issuer, map_identity
from records.security.users import create_user
from records.tables.security import AuditEntry

ADMIN = Actor("admin", "admin")
REDIRECT = "http://127.0.0.1:18799/"  # never contacted: the callback is read from Location
SETTINGS = SmartSettings(redirect_uri=REDIRECT, timeout_s=10)


@pytest.fixture
def ehr() -> Iterator[SmartEhr]:
    with running_ehr() as server:
        yield server


@pytest.fixture
def engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.setenv("KAPCDS_BCRYPT_ROUNDS", "4")
    engine = make_engine(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    upgrade(engine)
    with session_factory(engine)() as session:
        create_user(session, "dr_smart", None, "clinician", ADMIN)
        session.commit()
    yield engine
    engine.dispose()


def _allow(engine: Engine, ehr: SmartEhr, fhir_user: str = "Practitioner/prac-1") -> None:
    with session_factory(engine)() as session:
        add_issuer(session, ehr.fhir + "/", CLIENT_ID, ADMIN, label="Stub EHR")
        map_identity(session, ehr.fhir, fhir_user, "dr_smart", ADMIN)
        session.commit()


def _authorize(pending: Pending) -> dict[str, str]:
    """What the browser does: open the authorisation URL; the EHR redirects back."""
    answer = requests.get(pending.authorization_url, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    location = answer.headers["Location"]
    assert location.startswith(REDIRECT)
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def _audit(engine: Engine, action: str) -> list[tuple[str, str, str]]:
    with session_factory(engine)() as session:
        rows = session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                               .order_by(AuditEntry.id))
        return [(r.username, r.outcome, r.detail or "") for r in rows]


def test_an_ehr_launch_signs_in_the_mapped_account_and_imports_the_patient(engine, ehr):
    _allow(engine, ehr)
    pending = begin_launch(engine, ehr.fhir, "launch-123", SETTINGS)
    query = parse_qs(urlsplit(pending.authorization_url).query)
    assert query["scope"] == ["launch openid fhirUser patient/*.rs"]
    assert query["launch"] == ["launch-123"] and query["aud"] == [ehr.fhir]
    assert query["code_challenge_method"] == ["S256"]
    assert query["code_challenge"] == [s256(pending.code_verifier)]
    assert "code_verifier" not in query  # the verifier never leaves the server
    landing = finish_launch(engine, pending, _authorize(pending), SETTINGS)
    assert (landing.username, landing.role, landing.created) == ("dr_smart", "clinician", True)
    with session_factory(engine)() as session:
        stored = get_patient(session, landing.patient_id)
        assert stored is not None and stored.import_source["fhir_patient_id"] == PATIENT_ID
        assert stored.import_source["format"] == "FHIR R4 (SMART launch)"
    assert ("GET", f"/fhir/Patient/{PATIENT_ID}") in ehr.requests
    assert ("GET", "/fhir/Observation") in ehr.requests
    logins = _audit(engine, "login")
    assert logins[-1][:2] == ("dr_smart", "success") and logins[-1][2].startswith("smart ")
    assert _audit(engine, "import")[-1][0] == "dr_smart"
    again = finish_launch(engine, (p := begin_launch(engine, ehr.fhir, "launch-123",
                                                     SETTINGS)), _authorize(p), SETTINGS)
    assert again.patient_id == landing.patient_id and not again.created  # updated, not twice


def test_a_standalone_launch_asks_for_a_patient(engine, ehr):
    _allow(engine, ehr)
    pending = begin_launch(engine, ehr.fhir, None, SETTINGS)
    query = parse_qs(urlsplit(pending.authorization_url).query)
    assert query["scope"] == ["launch/patient openid fhirUser patient/*.rs"]
    assert "launch" not in query
    assert finish_launch(engine, pending, _authorize(pending), SETTINGS).patient_id


def test_pkce_a_wrong_code_verifier_is_refused_by_the_token_endpoint(engine, ehr):
    _allow(engine, ehr)
    pending = begin_launch(engine, ehr.fhir, "launch-123", SETTINGS)
    params = _authorize(pending)
    forged = dataclasses.replace(pending, code_verifier="x" * 64)
    with pytest.raises(SmartError, match="did not exchange the sign-in code"):
        finish_launch(engine, forged, params, SETTINGS)
    assert ehr.token_errors == ["code_verifier"]
    assert _audit(engine, "login") == []  # nobody signed in


def test_a_wrong_state_is_refused_before_the_code_is_used(engine, ehr):
    _allow(engine, ehr)
    pending = begin_launch(engine, ehr.fhir, "launch-123", SETTINGS)
    params = _authorize(pending) | {"state": "someone-elses-state"}
    with pytest.raises(SmartError, match="state differs"):
        finish_launch(engine, pending, params, SETTINGS)
    assert ("POST", "/token") not in ehr.requests


def test_an_issuer_not_on_the_allow_list_is_refused_with_no_request(engine, ehr):
    with pytest.raises(SmartError, match="not on the KAP-CDS list of allowed SMART issuers"):
        begin_launch(engine, ehr.fhir, "launch-123", SETTINGS)
    with pytest.raises(SmartError, match="not on the KAP-CDS list"):
        begin_launch(engine, "https://ehr.invalid/fhir", "launch-123", SETTINGS)
    assert ehr.requests == []
    refused = _audit(engine, "login")
    assert [r[1] for r in refused] == ["failure", "failure"]
    assert "not allowed; nothing sent" in refused[0][2]


def test_an_unknown_fhir_user_is_refused_and_audited(engine, ehr):
    _allow(engine, ehr)
    ehr.fhir_user = "Practitioner/stranger"
    pending = begin_launch(engine, ehr.fhir, "launch-123", SETTINGS)
    with pytest.raises(SmartError, match="no KAP-CDS account is mapped to that user"):
        finish_launch(engine, pending, _authorize(pending), SETTINGS)
    assert _audit(engine, "login")[-1][1:] == (
        "failure", f"smart: no account is mapped to Practitioner/stranger on {ehr.fhir}")
    assert not any(path.startswith("/fhir/Patient") for _, path in ehr.requests)
    assert _audit(engine, "import") == []


@pytest.mark.parametrize(("claims", "why"), [
    ({"exp": int(time.time()) - 3600}, "expired"),
    ({"aud": "another-app"}, "aud"),
    ({"iss": "https://impostor.example/fhir"}, "iss"),
    ({"nonce": "replayed"}, "nonce"),
])
def test_an_id_token_with_a_bad_claim_is_refused(engine, ehr, claims, why):
    _allow(engine, ehr)
    ehr.claims = claims
    pending = begin_launch(engine, ehr.fhir, "launch-123", SETTINGS)
    with pytest.raises(SmartError, match="identity token was refused") as refused:
        finish_launch(engine, pending, _authorize(pending), SETTINGS)
    assert why in str(refused.value).lower()
    assert _audit(engine, "login") == []


def test_an_id_token_signed_with_another_key_is_refused(engine, ehr):
    _allow(engine, ehr)
    ehr.signing_key = RSAKey.generate_key(2048, parameters={"kid": "ehr-1"})  # not in /jwks
    pending = begin_launch(engine, ehr.fhir, "launch-123", SETTINGS)
    with pytest.raises(SmartError, match="identity token was refused"):
        finish_launch(engine, pending, _authorize(pending), SETTINGS)
    assert _audit(engine, "login") == []
