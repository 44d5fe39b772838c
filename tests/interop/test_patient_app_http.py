"""The patient questionnaire app over HTTP (FastAPI TestClient, issue 27)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from base.proms_settings import prom_settings
from interop.patient_app.app import create_app
from interop.patient_app.guard import RateLimiter
from models.clinical.prom_instruments import PHQ9
from records import session_factory
from records.proms import alerts, invitations, submissions
from records.security.policy import Actor
from records.tables.security import AuditEntry
from tests.interop.prom_support import NAME, PID, phq9_form, store_with_patient

DR = Actor("dr_lee", "clinician")


@pytest.fixture
def engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.setenv("KAPCDS_CLINIC_NAME", "Lakeside Ketamine Clinic")
    monkeypatch.setenv("KAPCDS_CLINIC_PHONE", "+1 555 0100")
    engine = store_with_patient(tmp_path)
    yield engine
    engine.dispose()


@pytest.fixture
def client(engine: Engine) -> TestClient:
    return TestClient(create_app(engine))


def _link(engine: Engine, instrument: str = "phq9", days: int | None = None) -> str:
    with session_factory(engine)() as db:
        _, token = invitations.create_invitation(db, PID, instrument, DR, days=days)
        db.commit()
    return token


def _open(client: TestClient, token: str) -> str:
    page = client.get(f"/q/{token}")
    assert page.status_code == 200
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def test_form_shows_the_exact_wording_and_nothing_about_the_patient(
        client: TestClient, engine: Engine) -> None:
    page = client.get(f"/q/{_link(engine)}")
    assert page.status_code == 200
    html = page.text
    assert '<html lang="en">' in html and "Lakeside Ketamine Clinic" in html
    assert html.count("<fieldset") == 10 and html.count("<legend>") == 10
    for item in PHQ9.items:
        assert item.text.replace("'", "&#x27;") in html
    assert "More than half the days" in html and PHQ9.preamble in html
    assert PID not in html and NAME not in html and "<script" not in html
    assert "not monitored in real time" in html
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "script-src" not in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    cookie = page.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie


def test_unknown_used_and_expired_links_get_the_same_answer(
        client: TestClient, engine: Engine) -> None:
    used = _link(engine)
    csrf = _open(client, used)
    assert client.post(f"/q/{used}", data={**phq9_form(), "csrf": csrf}).status_code == 200
    expired = _link(engine)
    with session_factory(engine)() as db:
        row = invitations.usable(db, expired)
        row.expires_at = row.created_at
        db.commit()
    answers = [client.get(f"/q/{t}") for t in (used, expired, "x" * 43)]
    assert {a.status_code for a in answers} == {404}
    assert len({a.text for a in answers}) == 1


def test_post_without_the_csrf_value_is_refused_and_audited(
        client: TestClient, engine: Engine) -> None:
    token = _link(engine)
    _open(client, token)
    refused = client.post(f"/q/{token}", data={**phq9_form(), "csrf": "forged"})
    assert refused.status_code == 403
    with session_factory(engine)() as db:
        assert submissions.submissions(db) == []
        assert invitations.usable(db, token) is not None
        last = db.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        assert (last.action, last.outcome) == ("prom_refused", "denied")


def test_missing_answer_comes_back_with_the_problem_and_the_link_still_works(
        client: TestClient, engine: Engine) -> None:
    token = _link(engine)
    csrf = _open(client, token)
    form = phq9_form()
    del form["item9"]
    back = client.post(f"/q/{token}", data={**form, "csrf": csrf})
    assert back.status_code == 422
    assert 'role="alert"' in back.text and "please answer this question" in back.text
    assert 'value="1" checked' in back.text  # what was answered is kept
    assert client.get(f"/q/{token}").status_code == 200


def test_item9_shows_crisis_resources_raises_the_alert_and_closes_the_link(
        client: TestClient, engine: Engine) -> None:
    token = _link(engine)
    csrf = _open(client, token)
    done = client.post(f"/q/{token}", data={**phq9_form(item9=1), "csrf": csrf})
    assert done.status_code == 200
    assert "988" in done.text and "+1 555 0100" in done.text
    assert "not monitored in real time" in done.text and 'role="alert"' in done.text
    assert client.get(f"/q/{token}").status_code == 404
    with session_factory(engine)() as db:
        [alert] = alerts.alerts(db, PID)
        assert alert.instrument == "phq9" and alert.clinician == "dr_lee"
        actions = db.scalars(select(AuditEntry.action)).all()
        assert "prom_submit" in actions


def test_answers_without_item9_get_a_plain_thank_you(client: TestClient,
                                                     engine: Engine) -> None:
    token = _link(engine)
    csrf = _open(client, token)
    done = client.post(f"/q/{token}", data={**phq9_form(), "csrf": csrf})
    assert "Thank you. Your answers were sent." in done.text
    assert "Please read this now" not in done.text
    with session_factory(engine)() as db:
        assert alerts.alerts(db) == []


def test_rate_limit_answers_429(engine: Engine) -> None:
    client = TestClient(create_app(engine, replace(prom_settings(), rate_per_minute=3)))
    codes = [client.get("/q/nothing").status_code for _ in range(5)]
    assert codes == [404, 404, 404, 429, 429]


def test_rate_limiter_window_slides() -> None:
    now = [0.0]
    limiter = RateLimiter(2, clock=lambda: now[0])
    assert [limiter.allow("a") for _ in range(3)] == [True, True, False]
    assert limiter.allow("b")
    now[0] = 61.0
    assert limiter.allow("a")
