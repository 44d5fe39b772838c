"""Issue 26 on the pages: the monitoring view's CDS override rates, the Users page's SMART
allow-list and fhirUser mappings, and a launch from an EHR that is not allowed."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

from apptest_helpers import as_read, audit_entries, texts
from streamlit.testing.v1 import AppTest

from dashboard.services.lab.monitoring import cds_override_rates
from dashboard.services.workspace import Workspace
from records.cds_feedback import record_cards, record_feedback
from records.db import session_factory
from records.security.smart_accounts import list_identities, list_issuers

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
EHR = "https://ehr.example/fhir"


def _feedback(ws: Workspace) -> None:
    """Two eligibility cards (one overridden with a reason) and one accepted safety card."""
    cards = [{"uuid": str(uuid.uuid4()), "summary": summary, "indicator": "info"}
             for summary in ("KAP eligibility: excluded", "KAP eligibility: eligible",
                             "PHQ-9 item 9: positive")]
    with session_factory(ws.engine)() as session:
        record_cards(session, "kapcds-order-select", cards, "https://ehr.example", "Patient/1")
        record_feedback(session, "kapcds-order-select", {"feedback": [
            {"card": cards[0]["uuid"], "outcome": "overridden",
             "overrideReason": {"reason": {"code": "specialist-approved",
                                           "display": "Specialist approved"}},
             "outcomeTimestamp": "2026-12-07T10:00:00Z"},
            {"card": cards[1]["uuid"], "outcome": "accepted",
             "outcomeTimestamp": "2026-12-07T10:01:00Z"},
            {"card": cards[2]["uuid"], "outcome": "accepted",
             "outcomeTimestamp": "2026-12-07T10:02:00Z"}]}, "https://ehr.example")
        session.commit()


def test_monitoring_shows_cds_override_rates_per_card_type(
        open_page: Callable[..., AppTest], workspace: Workspace) -> None:
    at = open_page("monitoring", role="data_scientist")
    assert "No CDS Hooks card has been returned" in texts(at.info)
    _feedback(workspace)
    at.run()
    table = next(d.value for d in at.dataframe if "override rate" in d.value.columns)
    rows = table.set_index("card type")
    assert rows.loc["KAP eligibility", "shown"] == 2
    assert rows.loc["KAP eligibility", "override rate"] == 50.0
    assert rows.loc["KAP eligibility", "commonest reason"] == "Specialist approved"
    assert rows.loc["PHQ-9 item 9", "override rate"] == 0.0
    assert cds_override_rates(workspace.engine).equals(table)  # the page renders the service


def test_the_admin_allows_an_ehr_and_maps_an_ehr_user(
        open_page: Callable[..., AppTest], workspace: Workspace) -> None:
    at = open_page("users", role="admin")
    at.text_input(key=next(k for k in _keys(at) if k.endswith("us_smart_iss"))).input(EHR + "/")
    at.text_input(key=next(k for k in _keys(at) if k.endswith("us_smart_client"))
                  ).input("kapcds-client")
    at.text_input(key=next(k for k in _keys(at) if k.endswith("us_smart_label"))
                  ).input("Clinic **EHR**")
    next(b for b in at.button if b.label == "Allow EHR").click().run()
    assert not at.exception, [e.value for e in at.exception]
    who = next(k for k in _keys(at) if k.endswith("us_smart_who"))
    at.text_input(key=who).input(f"{EHR}/Practitioner/77")
    next(b for b in at.button if b.label == "Map user").click().run()
    assert not at.exception, [e.value for e in at.exception]
    with session_factory(workspace.engine)() as session:
        assert [(i.issuer, i.client_id) for i in list_issuers(session)] == [
            (EHR, "kapcds-client")]
        assert [m.fhir_user for m in list_identities(session)] == ["Practitioner/77"]
    assert {e["action"] for e in audit_entries(workspace, None)} >= {"smart_issuer",
                                                                      "smart_identity"}
    signed_out = AppTest.from_file(str(APP), default_timeout=180).run()
    assert any(b.label.startswith("Sign in with Clinic") for b in signed_out.button)  # standalone
    next(b for b in at.button if b.label == "Remove EHR").click().run()
    with session_factory(workspace.engine)() as session:
        assert list_issuers(session) == [] and list_identities(session) == []


def test_a_launch_from_an_ehr_not_allowed_is_refused_on_the_sign_in_page(
        kapcds_home: Path) -> None:
    at = AppTest.from_file(str(APP), default_timeout=180)
    at.query_params["iss"] = "https://unlisted.example/fhir"
    at.query_params["launch"] = "abc"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    shown = as_read(texts(at.error))
    assert "is not on the KAP-CDS list of allowed SMART issuers" in shown
    assert "nothing was sent to it" in shown
    assert at.text_input(key="signin_username") is not None  # the ordinary sign-in remains


def _keys(at: AppTest) -> list[str]:
    return [w.key for w in at.text_input if w.key]
