"""Patient questionnaires on the clinician's pages (issue 27): an urgent PHQ-9 item 9 answer
is on Home and the patient's progress page until acknowledged (audited); the patient's
own PHQ-9 between sessions is a point on the progress chart; links can be created there."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
from apptest_helpers import plotly_figures, texts, trace
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from dashboard.services.workspace import Workspace
from records.db import session_factory
from records.frames import sessions_frame
from records.proms import alerts, invitations, submissions
from records.security.policy import Actor
from records.tables.security import AuditEntry

ITEM9 = {**{f"item{n}": 1 for n in range(1, 9)}, "item9": 1}


def _patient_in_series(workspace: Workspace) -> tuple[str, pd.Timestamp]:
    """A sample patient with dated sessions and the time between their first two."""
    with session_factory(workspace.engine)() as db:
        frame = sessions_frame(db)
    frame = frame[frame["session_at"].notna()]
    counts = frame.groupby("patient_id")["session_number"].count()
    pid = str(counts[counts >= 3].index[5])
    rows = frame[frame["patient_id"] == pid].sort_values("session_number")
    between = rows["session_at"].iloc[0] + (rows["session_at"].iloc[1]
                                            - rows["session_at"].iloc[0]) / 2
    return pid, between


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
    shown = [e.value for e in home.error]
    assert any("URGENT" in t and pid in t and "item 9" in t for t in shown), shown

    progress = open_page("progress")
    progress.selectbox(key="pr_patient").set_value(pid).run()
    assert any("URGENT" in e.value and pid in e.value for e in progress.error)
    figure = next(f for f in plotly_figures(progress)
                  if "PHQ-9" in f["layout"]["title"]["text"])
    points = trace(figure, "patient-reported PHQ-9 (by link)")
    assert list(points["y"]) == [9] and list(points["x"]) == [1.5]
    assert any("Patient questionnaires" in t for t in texts(progress))

    with session_factory(workspace.engine)() as db:
        [alert] = alerts.alerts(db, pid)
    home.text_input(key=f"home_prom_note_{alert.id}").input("phoned; safe, plan reviewed")
    next(b for b in home.button if b.label == f"Acknowledge alert {alert.id}").click().run()
    assert not home.exception
    assert not any(pid in e.value and "URGENT" in e.value for e in home.error)
    with session_factory(workspace.engine)() as db:
        assert alerts.alerts(db, pid) == []
        last = db.scalars(select(AuditEntry).where(AuditEntry.action == "prom_alert_ack")
                          ).all()[-1]
        assert last.patient_id == pid and "phoned" in (last.detail or "")
