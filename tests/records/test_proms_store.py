"""Patient-reported outcomes in the store (issue 27), on SQLite and PostgreSQL: one-time
links, submissions stored as follow-up visits, urgent alerts and their acknowledgement."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models.clinical.prom_schedule import Schedule
from models.clinical.prom_scoring import AnswerError
from records import repository as repo
from records.audit.trail import verify
from records.errors import RecordError
from records.followup.record import list_visits
from records.proms import alerts, invitations, schedules, submissions
from records.security.policy import Actor
from records.tables.proms import PromInvitation
from records.tables.security import AuditEntry

Row = Callable[..., dict[str, Any]]
PID = "KAP-00001"
DR = Actor("dr_lee", "clinician")
PHQ9_ITEM9 = {f"item{n}": 1 for n in range(1, 10)} | {"difficulty": 1}


def _series(db: Session, make_patient: Row, make_session: Row, n: int = 4,
            done: int | None = None) -> datetime:
    repo.add_patient(db, make_patient(1, phq9_baseline=20, planned_sessions=n))
    for number in range(1, (done or n) + 1):
        repo.add_session(db, PID, {k: v for k, v in make_session(number=number).items()
                                   if k != "patient_id"} | {"phq9": 8})
    db.commit()
    return make_session(number=done or n)["session_at"]


def _link(db: Session, instrument: str = "phq9", **kw: Any) -> str:
    _, token = invitations.create_invitation(db, PID, instrument, DR, **kw)
    db.commit()
    return token


def test_token_is_stored_only_as_its_hash(db: Session, make_patient: Row,
                                          make_session: Row) -> None:
    _series(db, make_patient, make_session)
    token = _link(db)
    row = db.scalars(select(PromInvitation)).one()
    assert row.token_sha256 == invitations.token_digest(token) != token
    assert len(token) >= 40
    assert token not in str([getattr(row, c.key) for c in PromInvitation.__table__.c])
    assert (row.expires_at - row.created_at) == timedelta(days=7)


def test_unknown_used_and_expired_links_look_the_same(db: Session, make_patient: Row,
                                                      make_session: Row) -> None:
    _series(db, make_patient, make_session)
    used, expired = _link(db), _link(db, days=1)
    submissions.submit(db, used, {f"item{n}": 0 for n in range(1, 10)})
    later = datetime.now().astimezone() + timedelta(days=2)
    assert invitations.usable(db, "no-such-token") is None
    assert invitations.usable(db, used) is None
    assert invitations.usable(db, expired, now=later) is None
    for token in ("no-such-token", used):
        with pytest.raises(submissions.LinkUnavailable, match="this link cannot be used"):
            submissions.submit(db, token, {})


def test_bad_answers_store_nothing_and_keep_the_link(db: Session, make_patient: Row,
                                                     make_session: Row) -> None:
    _series(db, make_patient, make_session)
    token = _link(db)
    with pytest.raises(AnswerError) as info:
        submissions.submit(db, token, {"item1": 2, "item9": 7})
    assert info.value.problems["item9"].startswith("choose one of")
    assert info.value.problems["item2"] == "please answer this question"
    assert submissions.submissions(db, PID) == []
    assert invitations.usable(db, token) is not None


def test_phq9_after_the_series_is_a_patient_followup_visit(db: Session, make_patient: Row,
                                                           make_session: Row) -> None:
    _series(db, make_patient, make_session)
    done = submissions.submit(db, _link(db), {f"item{n}": 1 for n in range(1, 9)}
                              | {"item9": 0})
    visits = list_visits(db, PID)
    assert [(v.phq9, v.source, v.id) for v in visits] == [(8, "patient", done.followup_visit_id)]
    assert done.urgent is None and alerts.alerts(db) == []
    sub = submissions.submissions(db, PID)[0]
    assert sub.source == "patient" and sub.answered_at == visits[0].visit_at


def test_phq9_during_induction_is_kept_as_a_submission(db: Session, make_patient: Row,
                                                       make_session: Row) -> None:
    _series(db, make_patient, make_session, n=6, done=2)
    done = submissions.submit(db, _link(db, occasion="before session 3"), PHQ9_ITEM9)
    assert done.followup_visit_id is None and list_visits(db, PID) == []
    assert submissions.submissions(db, PID)[0].total == 9


def test_item9_raises_an_urgent_alert_until_acknowledged(db: Session, make_patient: Row,
                                                         make_session: Row) -> None:
    _series(db, make_patient, make_session)
    done = submissions.submit(db, _link(db, clinician="dr_lee"), PHQ9_ITEM9)
    assert done.urgent is not None and "item 9" in done.urgent.reason
    [alert] = alerts.alerts(db)
    assert (alert.patient_id, alert.clinician, alert.total) == (PID, "dr_lee", 9)
    alerts.acknowledge(db, alert.id, DR, note="called the patient; safety plan reviewed")
    assert alerts.alerts(db) == []
    [closed] = alerts.alerts(db, open_only=False)
    assert closed.acknowledged_by == "dr_lee" and closed.note.startswith("called")
    with pytest.raises(RecordError, match="already acknowledged"):
        alerts.acknowledge(db, alert.id, DR)
    actions = db.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions[-3:] == ["prom_invite", "prom_submit", "prom_alert_ack"]
    assert verify(db).ok


def test_positive_cssrs_screen_is_urgent(db: Session, make_patient: Row,
                                         make_session: Row) -> None:
    _series(db, make_patient, make_session)
    done = submissions.submit(db, _link(db, "cssrs"), {
        "wish_dead": 1, "thoughts": 0, "behaviour": 0})
    assert done.urgent is not None and done.urgent.grade == "lower"
    assert alerts.alerts(db)[0].instrument == "cssrs"


def test_patient_source_is_checked_by_the_database(db: Session, make_patient: Row,
                                                   make_session: Row) -> None:
    _series(db, make_patient, make_session)
    with pytest.raises(IntegrityError):
        db.execute(text("INSERT INTO followup_visits (patient_pk, day_after_series, source, "
                        "is_synthetic, recorded_at, version) VALUES (1, 3, 'bogus', false, "
                        "CURRENT_TIMESTAMP, 1)"))
    db.rollback()


def test_schedule_lists_due_and_completed(db: Session, make_patient: Row,
                                          make_session: Row) -> None:
    end = _series(db, make_patient, make_session)
    schedules.set_schedule(db, PID, Schedule(("phq9",), False, False, (1, 2)), DR,
                           email="pat@example.org")
    db.commit()
    submissions.submit(db, _link(db), {f"item{n}": 0 for n in range(1, 10)},
                       now=end + timedelta(days=7))
    found, missing = schedules.patient_occasions(db, PID, today=end.date() + timedelta(days=12))
    assert missing == []
    assert [(o.label, o.status) for o in found] == [("follow-up week 1", "completed"),
                                                    ("follow-up week 2", "due")]
    assert schedules.enrolled_patients(db) == [PID]
    assert isinstance(found[0].answered_on, date)
