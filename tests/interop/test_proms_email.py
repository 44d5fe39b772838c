"""Questionnaire links by e-mail through a real local SMTP server (aiosmtpd), reminders,
the CLI, and the FHIR QuestionnaireResponse export (issue 27)."""

from __future__ import annotations

import email
import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from net_support import free_ports
from sqlalchemy import Engine

from interop.patient_app.app import create_app
from interop.patient_app.delivery import NotConfigured, send_sms
from interop.patient_app.outbox import invite, send_due, send_reminders
from kapcds.cli import main
from records import session_factory
from records.proms import invitations
from records.security.policy import Actor
from records.tables.proms import PromInvitation
from tests.interop.prom_support import FIRST, NAME, PID, phq9_form, store_with_patient

(SMTP_PORT,) = free_ports(1)
URL = re.compile(r"http://127\.0\.0\.1:8690/q/[A-Za-z0-9_-]+")


class Inbox:
    """aiosmtpd handler keeping every message it receives."""

    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001, N802
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def inbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=SMTP_PORT)
    controller.start()
    for name, value in {"KAPCDS_SMTP_HOST": "127.0.0.1", "KAPCDS_SMTP_PORT": str(SMTP_PORT),
                        "KAPCDS_SMTP_SECURITY": "none", "KAPCDS_SMTP_FROM": "clinic@example.org",
                        "KAPCDS_PROMS_PUBLIC_URL": "http://127.0.0.1:8690",
                        "KAPCDS_CLINIC_NAME": "Lakeside Ketamine Clinic"}.items():
        monkeypatch.setenv(name, value)
    yield handler
    controller.stop()


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = store_with_patient(tmp_path)
    yield engine
    engine.dispose()


def _body(message: email.message.Message) -> str:
    return message.get_payload(decode=True).decode("utf-8")


def test_invitation_email_carries_a_working_link_and_nothing_about_the_patient(
        inbox: Inbox, engine: Engine) -> None:
    with session_factory(engine)() as db:
        [link] = invite(db, PID, ["phq9"], Actor("dr_lee", "clinician"),
                        email="patient@example.org")
    [message] = inbox.messages
    assert message["To"] == "patient@example.org"
    assert message["From"] == "clinic@example.org"
    body = _body(message)
    assert URL.findall(body) == [link.url]
    assert "Lakeside Ketamine Clinic" in body and "not monitored in real time" in body
    assert PID not in body and NAME not in body
    client = TestClient(create_app(engine))
    assert client.get(link.url.replace("http://127.0.0.1:8690", "")).status_code == 200


def test_reminder_sends_a_fresh_link_and_retires_the_old_one(inbox: Inbox,
                                                             engine: Engine) -> None:
    with session_factory(engine)() as db:
        [link] = invite(db, PID, ["phq9"], Actor("dr_lee", "clinician"),
                        email="patient@example.org")
        row = db.get(PromInvitation, link.invitation_id)
        assert send_reminders(db) == (0, [])  # not due yet
        row.sent_at -= timedelta(hours=25)
        db.commit()
        assert send_reminders(db) == (1, [])
        assert db.get(PromInvitation, link.invitation_id).reminders_sent == 1
    old, new = (URL.findall(_body(m))[0] for m in inbox.messages)
    assert old != new and "reminder" in _body(inbox.messages[1]).lower()
    client = TestClient(create_app(engine))
    assert client.get(old.replace("http://127.0.0.1:8690", "")).status_code == 404
    assert client.get(new.replace("http://127.0.0.1:8690", "")).status_code == 200


def test_cli_invite_prints_links_emails_them_and_writes_a_qr_code(
        inbox: Inbox, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("KAPCDS_DATABASE_URL", str(engine.url))
    qr = tmp_path / "link.svg"
    assert main(["proms", "invite", PID, "--instrument", "phq9,gad7", "--email",
                 "patient@example.org", "--qr", str(qr)]) == 0
    printed = URL.findall(capsys.readouterr().out)
    assert len(printed) == 2 and len(inbox.messages) == 2
    assert sorted(printed) == sorted(URL.findall(_body(m))[0] for m in inbox.messages)
    assert (tmp_path / "link-phq9.svg").read_text().lstrip().startswith("<?xml")
    assert main(["proms", "invite", PID, "--instrument", "phq10"]) == 1


def test_fhir_export_is_a_valid_questionnaire_response_with_loinc_items(
        inbox: Inbox, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
        ) -> None:
    from fhir.resources.R4B import get_fhir_model_class

    with session_factory(engine)() as db:
        [link] = invite(db, PID, ["phq9"], Actor("dr_lee", "clinician"))
    client = TestClient(create_app(engine))
    path = link.url.replace("http://127.0.0.1:8690", "")
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text).group(1)
    client.post(path, data={**phq9_form(item9=2), "csrf": csrf})
    monkeypatch.setenv("KAPCDS_DATABASE_URL", str(engine.url))
    out = tmp_path / "qr.json"
    assert main(["proms", "export", PID, "--out", str(out)]) == 0
    bundle = json.loads(out.read_text())
    get_fhir_model_class("Bundle").model_validate(bundle)
    [entry] = bundle["entry"]
    response = entry["resource"]
    assert response["questionnaire"] == "http://loinc.org/q/44249-1"
    items = {i["linkId"]: i for i in response["item"]}
    assert items["/44260-8"]["answer"][0]["valueCoding"]["code"] == "LA6570-1"
    assert items["/44260-8"]["text"].startswith("Thoughts that you would be better off dead")
    assert items["/44261-6"]["answer"][0]["valueInteger"] == 10


def test_send_due_emails_each_due_occasion_once_and_names_patients_without_address(
        inbox: Inbox, engine: Engine, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("KAPCDS_DATABASE_URL", str(engine.url))
    assert main(["proms", "schedule", PID, "--instruments", "phq9", "--followup-weeks",
                 "1,2"]) == 0
    week1 = FIRST + timedelta(days=9 + 7)  # the series' last session was day 9
    with session_factory(engine)() as db:
        sent, problems = send_due(db, Actor("cron", "system"), now=week1)
    assert sent == [] and problems and "no e-mail address" in problems[0]
    assert main(["proms", "schedule", PID, "--instruments", "phq9", "--followup-weeks",
                 "1,2", "--email", "patient@example.org", "--clinician", "dr_lee"]) == 0
    with session_factory(engine)() as db:
        sent, problems = send_due(db, Actor("cron", "system"), now=week1)
        again, _ = send_due(db, Actor("cron", "system"), now=week1)
        row = db.get(PromInvitation, sent[0].invitation_id)
        assert (row.occasion, row.clinician) == ("follow-up week 1", "dr_lee")
    assert problems == [] and len(sent) == 1 and again == []
    assert len(inbox.messages) == 1 and URL.findall(_body(inbox.messages[0])) == [sent[0].url]


def test_sms_is_an_extension_point_that_refuses_without_a_provider() -> None:
    with pytest.raises(NotConfigured, match="extension point"):
        send_sms(None, "+15550100", "text")

    class Provider:
        def send(self, number: str, text: str) -> str:
            return f"sent {len(text)} to {number}"

    assert send_sms(Provider(), "+15550100", "abc") == "sent 3 to +15550100"


def test_tokens_are_single_use_even_when_two_requests_race(engine: Engine) -> None:
    with session_factory(engine)() as db:
        row, token = invitations.create_invitation(db, PID, "phq9", Actor("dr", "clinician"))
        db.commit()
        now = row.created_at + timedelta(minutes=1)
        assert invitations.claim(db, row, now) is True
        assert invitations.claim(db, row, now) is False
