"""The SMART allow-list and fhirUser mappings in the store: validated and audited (issue 26)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from records import make_engine, session_factory, upgrade
from records.errors import DuplicateRecordError, RecordNotFoundError
from records.migrate import downgrade
from records.security.policy import Actor
from records.security.smart_accounts import (
    add_issuer,
    allowed_issuer,
    list_identities,
    list_issuers,
    map_identity,
    normalise_fhir_user,
    normalise_issuer,
    remove_issuer,
    smart_sign_in,
    unmap_identity,
)
from records.security.users import create_user, set_active
from records.tables.security import AuditEntry

ADMIN = Actor("admin", "admin")
EHR = "https://ehr.example/fhir"


@pytest.fixture
def session(tmp_path, monkeypatch):
    monkeypatch.setenv("KAPCDS_BCRYPT_ROUNDS", "4")
    engine = make_engine(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    upgrade(engine)
    with session_factory(engine)() as s:
        create_user(s, "dr_lee", None, "clinician", ADMIN)
        s.commit()
        yield s
    engine.dispose()


def _details(session, action: str) -> list[str]:
    return [e.detail or "" for e in session.scalars(
        select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id))]


def test_issuers_are_normalised_and_only_https_off_loopback():
    assert normalise_issuer(" https://ehr.example/fhir/ ") == EHR
    assert normalise_issuer("http://127.0.0.1:9/fhir") == "http://127.0.0.1:9/fhir"
    for bad in ("http://ehr.example/fhir", "ftp://x/y", "https://u:p@ehr.example/fhir",
                "https://ehr.example/fhir?x=1", "not a url"):
        with pytest.raises(ValueError):
            normalise_issuer(bad)


def test_a_fhir_user_is_trusted_only_on_its_own_issuer():
    assert normalise_fhir_user(EHR, f"{EHR}/Practitioner/12") == "Practitioner/12"
    assert normalise_fhir_user(EHR, "Practitioner/12") == "Practitioner/12"
    with pytest.raises(ValueError, match="is not on"):
        normalise_fhir_user(EHR, "https://other.example/fhir/Practitioner/12")
    with pytest.raises(ValueError, match="not a FHIR reference"):
        normalise_fhir_user(EHR, "Practitioner/12/../../Patient/1")


def test_every_change_is_audited_and_removal_takes_the_mappings(session):
    add_issuer(session, EHR + "/", "kapcds-client", ADMIN, label="Clinic EHR")
    with pytest.raises(DuplicateRecordError):
        add_issuer(session, EHR, "again", ADMIN)
    map_identity(session, EHR, f"{EHR}/Practitioner/12", "dr_lee", ADMIN)
    with pytest.raises(RecordNotFoundError, match="not on the SMART allow-list"):
        map_identity(session, "https://other.example/fhir", "Practitioner/1", "dr_lee", ADMIN)
    assert [i.label for i in list_issuers(session)] == ["Clinic EHR"]
    assert [(m.fhir_user, m.username) for m in list_identities(session)] == [
        ("Practitioner/12", "dr_lee")]
    unmap_identity(session, EHR, "Practitioner/12", ADMIN)
    map_identity(session, EHR, "Practitioner/13", "dr_lee", ADMIN)
    remove_issuer(session, EHR, ADMIN)
    assert allowed_issuer(session, EHR) is None and list_identities(session) == []
    assert _details(session, "smart_issuer") == [
        f"allowed {EHR} (client id kapcds-client, label Clinic EHR)",
        f"removed {EHR} and its 1 fhirUser mapping(s)"]
    assert _details(session, "smart_identity") == [
        f"Practitioner/12 on {EHR} signs in as dr_lee", f"removed Practitioner/12 on {EHR}",
        f"Practitioner/13 on {EHR} signs in as dr_lee"]


def test_sign_in_needs_a_mapping_and_an_active_account(session):
    add_issuer(session, EHR, "kapcds-client", ADMIN)
    map_identity(session, EHR, "Practitioner/12", "dr_lee", ADMIN)
    session.commit()
    assert smart_sign_in(session, EHR, f"{EHR}/Practitioner/12").username == "dr_lee"
    assert not smart_sign_in(session, EHR, "Practitioner/99").ok
    assert not smart_sign_in(session, EHR, "https://evil.example/Practitioner/12").ok
    set_active(session, "dr_lee", False, ADMIN)
    session.commit()
    assert smart_sign_in(session, EHR, "Practitioner/12").reason == "disabled"
    assert [d.split(":")[0] for d in _details(session, "login")] == [
        "smart Practitioner/12 on https", "smart", "smart", "smart"]


def test_the_migration_downgrades_cleanly(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'm.sqlite3'}")
    upgrade(engine)
    downgrade(engine, "0014")
    upgrade(engine)
    engine.dispose()
