"""Urgent suicide-risk alerts are e-mailed to on-call, not only shown (HAZ-009, HAZ-180).

Against a real local SMTP server (aiosmtpd): every on-call address gets one message with
the patient id and the finding, never the name; no address set, or the mail server down,
is audited as a failure and listed for Home — and never raises into the save that raised
the alert. A session's alert is pushed only when its answers raise it.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import Engine, select

from dashboard.services.access import with_actor
from dashboard.services.entry.writes import push_session_alert
from dashboard.services.patients.proms import push_status
from dashboard.services.workspace import Workspace
from interop.notify.urgent import ACTION, UrgentAlert, push_urgent
from models.clinical.session_alerts import suicide_risk_message
from records.db import session_factory
from records.security.policy import Actor
from records.tables.security import AuditEntry
from tests.interop.prom_support import NAME, PID
from tests.interop.test_proms_email import Inbox, engine, inbox  # noqa: F401 (fixtures)
from tests.net_support import free_ports

DR = Actor("dr.push", "clinician")
ON_CALL = ("on-call@lakeside.example", "psychiatry-lead@lakeside.example")


def _alert() -> UrgentAlert:
    return UrgentAlert(PID, "session 3", suicide_risk_message(2, 1),
                       datetime(2026, 12, 7, 9, 30, tzinfo=timezone.utc))


def _pushes(engine: Engine) -> list[AuditEntry]:  # noqa: F811
    with session_factory(engine)() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == ACTION)))


def test_every_on_call_address_gets_the_alert_without_the_name(
        inbox: Inbox, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.setenv("KAPCDS_URGENT_ALERT_EMAIL", " , ".join(ON_CALL))
    outcome = push_urgent(engine, DR, _alert())
    assert outcome.problem is None and outcome.sent_to == ON_CALL
    assert sorted(m["To"] for m in inbox.messages) == sorted(ON_CALL)
    message = inbox.messages[0]
    assert PID in message["Subject"] and "URGENT" in message["Subject"]
    body = message.get_payload(decode=True).decode("utf-8")
    assert "item 9 (thoughts of death or self-harm) = 2" in body and "session 3" in body
    assert NAME not in body and NAME not in message["Subject"]
    [entry] = _pushes(engine)
    assert entry.outcome == "success" and entry.patient_id == PID
    assert push_status(engine) == (list(ON_CALL), [])


def test_no_address_is_a_failure_that_home_lists(
        inbox: Inbox, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.delenv("KAPCDS_URGENT_ALERT_EMAIL", raising=False)
    outcome = push_urgent(engine, DR, _alert())
    assert outcome.sent_to == () and "KAPCDS_URGENT_ALERT_EMAIL" in (outcome.problem or "")
    assert inbox.messages == []
    [entry] = _pushes(engine)
    assert entry.outcome == "failure"
    recipients, failures = push_status(engine)
    assert recipients == [] and len(failures) == 1 and PID in failures[0]


def test_a_mail_server_that_is_down_never_raises(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    (closed,) = free_ports(1)  # nothing listens there
    for name, value in {"KAPCDS_SMTP_HOST": "127.0.0.1", "KAPCDS_SMTP_PORT": str(closed),
                        "KAPCDS_SMTP_SECURITY": "none", "KAPCDS_SMTP_FROM": "c@example.org",
                        "KAPCDS_URGENT_ALERT_EMAIL": ON_CALL[0]}.items():
        monkeypatch.setenv(name, value)
    outcome = push_urgent(engine, DR, _alert())
    assert outcome.sent_to == () and "ConnectionRefusedError" in (outcome.problem or "")
    assert [e.outcome for e in _pushes(engine)] == ["failure"]
    assert PID in push_status(engine)[1][0]


def test_a_bad_address_setting_is_named(monkeypatch: pytest.MonkeyPatch,
                                        engine: Engine) -> None:  # noqa: F811
    monkeypatch.setenv("KAPCDS_URGENT_ALERT_EMAIL", "on-call at lakeside")
    assert push_status(engine) == ([], [
        "KAPCDS_URGENT_ALERT_EMAIL: 'on-call at lakeside' is not an e-mail address"])
    assert push_urgent(engine, DR, _alert()).problem is not None


@pytest.mark.parametrize(("answers", "pushed"), [
    ({"phq9_item9": 1, "cssrs": 0}, True), ({"phq9_item9": 0, "cssrs": 3}, True),
    ({"phq9_item9": 0, "cssrs": 2}, False), ({"phq9_item9": None, "cssrs": None}, False)])
def test_a_session_pushes_only_when_its_answers_raise_the_alert(
        inbox: Inbox, engine: Engine, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
        answers: dict, pushed: bool) -> None:
    monkeypatch.setenv("KAPCDS_URGENT_ALERT_EMAIL", ON_CALL[0])
    ws = with_actor(Workspace(engine, None, {}, "test"), DR)  # type: ignore[arg-type]
    push_session_alert(ws, PID, 4, answers)
    assert len(inbox.messages) == int(pushed)
    if pushed:
        assert "session 4" in inbox.messages[0].get_payload(decode=True).decode("utf-8")
