"""Patient questionnaires on the clinician's pages (issue 27): an urgent PHQ-9 item 9 answer
is on Home and the patient's progress page until acknowledged (audited); the patient's
own PHQ-9 between sessions is a point on the progress chart; links can be created there."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pandas as pd
from apptest_helpers import as_read, plotly_figures, texts, trace, values
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from dashboard.services.patients.proms import ACK_ACTIONS
from dashboard.services.workspace import Workspace
from models.contract.schema import defaults
from records import repository as repo
from records.db import session_factory
from records.proms import alerts, invitations, submissions
from records.security.policy import Actor
from records.tables.security import AuditEntry

FIRST = datetime(2026, 11, 2, 9, 30, tzinfo=timezone.utc)
ITEM9 = {**{f"item{n}": 1 for n in range(1, 9)}, "item9": 1}


def _patient_in_series(workspace: Workspace) -> tuple[str, pd.Timestamp]:
    """A new patient with three dated sessions of six, and a moment between the first two
    (the shipped sample's sessions carry no dates, so placing a point needs our own)."""
    pid = "KAP-99027"
    with session_factory(workspace.engine)() as db:
        repo.add_patient(db, {"patient_id": pid, "name": "Questionnaire Patient",
                              **defaults(), "phq9_baseline": 20, "planned_sessions": 6})
        for n in (1, 2, 3):
            repo.add_session(db, pid, {
                "session_number": n, "day": 3 * (n - 1), "route": "iv",
                "dose_mg_per_kg": 0.5, "phq9": 15, "phq9_item9": 0, "gad7": 8,
                "pcl5": None, "cssrs": 0, "sbp_pre": 122, "dbp_pre": 78, "hr_pre": 72,
                "sbp_post": 138, "dbp_post": 86, "hr_post": 80, "cadss": 8, "nausea": False,
                "vomiting": False, "headache": False, "dizziness": False, "sedation": True,
                "minutes_to_discharge": 95, "dropout_after": False,
                "session_at": FIRST + timedelta(days=3 * (n - 1))})
        db.commit()
    return pid, pd.Timestamp(FIRST + timedelta(days=1, hours=2))


def _errors(at: AppTest) -> list[str]:
    """Error boxes as read (components.plain escapes Markdown with backslashes)."""
    return [as_read(e.value) for e in at.error]


def _urgent_submission(workspace: Workspace, pid: str, when: pd.Timestamp) -> None:
    with session_factory(workspace.engine)() as db:
        row, token = invitations.create_invitation(db, pid, "phq9", Actor("dr_app", "clinician"),
                                                   now=when.to_pydatetime())
        db.commit()
        submissions.submit(db, token, ITEM9, now=when.to_pydatetime())


def test_urgent_alert_on_home_and_progress_until_acknowledged(
        open_page: Callable[..., AppTest], workspace: Workspace) -> None:
    pid, between = _patient_in_series(workspace)
    _urgent_submission(workspace, pid, between)
    home = open_page("home")
    shown = _errors(home)
    assert any("URGENT" in t and pid in t and "item 9" in t for t in shown), shown

    progress = open_page("progress")
    progress.selectbox(key="pr_patient").set_value(pid).run()
    assert any("URGENT" in t and pid in t for t in _errors(progress))
    figure = next(f for f in plotly_figures(progress)
                  if "PHQ-9" in f["layout"]["title"]["text"])
    points = trace(figure, "patient-reported PHQ-9 (by link)")
    assert values(points["y"]) == [9] and values(points["x"]) == [1.5]
    assert "Patient questionnaires" in texts(progress.header)
    own = next(f for f in plotly_figures(progress)
               if f["layout"]["title"]["text"].startswith("Patient-reported scores"))
    assert values(trace(own, "PHQ-9 (patient-reported)")["y"]) == [9]

    with session_factory(workspace.engine)() as db:
        [alert] = alerts.alerts(db, pid)
    ack = next(b for b in home.button if b.label == f"Acknowledge alert {alert.id}")
    ack.click().run()  # nothing chosen: refused, the alert stays (HAZ-180)
    assert "choose what was done" in texts(home.warning)
    assert any(pid in t and "URGENT" in t for t in _errors(home))
    home.selectbox(key=f"home_prom_action_{alert.id}").set_value(ACK_ACTIONS[0])
    home.text_input(key=f"home_prom_note_{alert.id}").input("phoned; safe, plan reviewed")
    next(b for b in home.button if b.label == f"Acknowledge alert {alert.id}").click().run()
    assert not home.exception
    assert not any(pid in t and "URGENT" in t for t in _errors(home))
    with session_factory(workspace.engine)() as db:
        assert alerts.alerts(db, pid) == []
        last = db.scalars(select(AuditEntry).where(AuditEntry.action == "prom_alert_ack")
                          ).all()[-1]
        assert last.patient_id == pid and "phoned" in (last.detail or "")
        assert ACK_ACTIONS[0] in (last.detail or "")
