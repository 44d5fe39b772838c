"""Monitoring page (issue 14, part 3) and the predictions it rests on: viewing a patient in
candidate review records what was shown; the page shows realised performance and drift."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from apptest_helpers import plotly_figures, sign_in, texts
from streamlit.testing.v1 import AppTest

from dashboard.services.workspace import Workspace
from records.db import session_factory
from records.predictions import predictions_frame

VIEWS = Path(__file__).resolve().parents[2] / "dashboard" / "views"


def test_viewing_a_patient_records_the_prediction_once(open_page: Callable[..., AppTest],
                                                       workspace: Workspace) -> None:
    def recorded(patient: str):
        with session_factory(workspace.engine)() as session:
            shown = predictions_frame(session, workspace.version)
        return shown[shown["patient_id"] == patient]

    at = open_page("candidate_review")
    patient = at.session_state["cr_patient"]
    first = recorded(patient)
    assert len(first) >= 1 and first["context"].iloc[-1] == "viewed"
    assert first["username"].iloc[-1] and 0 < first["response"].iloc[-1] < 1
    at.run()  # a rerun of the same patient, version and inputs is not recorded again
    assert len(recorded(patient)) == len(first)
    open_page("candidate_review")  # another sign-in session: recorded again
    assert len(recorded(patient)) == len(first) + 1
    table = next(d.value for d in at.dataframe if "Range (90 %)" in d.value.columns)
    assert table["Range (90 %)"].str.fullmatch(r"[\d.]+–[\d.]+%").all()


def test_monitoring_page_shows_realised_performance_and_drift(
        open_page: Callable[..., AppTest], workspace: Workspace) -> None:
    at = open_page("monitoring", role="data_scientist")
    assert not at.exception
    outcome_table = next(d.value for d in at.dataframe if "AUC (realised)" in d.value.columns)
    assert len(outcome_table) == 6
    assert (outcome_table["n"] >= 100).all()  # the back-scored unseen ended series
    assert "back-scored now" in texts(at.caption)
    drift = next(d.value for d in at.dataframe if "PSI" in d.value.columns)
    assert set(drift["shift"]) <= {"stable", "moderate", "significant"}
    assert any("decile" in (f["layout"].get("title") or {}).get("text", "")
               for f in plotly_figures(at))
    at.toggle(key="mon_backscore").set_value(False).run()
    table = next(d.value for d in at.dataframe if "AUC (realised)" in d.value.columns)
    assert (table["suggestion"] == "not enough outcomes yet").all()  # few recorded yet


def test_clinicians_cannot_open_monitoring(open_page: Callable[..., AppTest]) -> None:
    at = open_page("home")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("views/monitoring.py")  # not in a clinician's menu
    page = sign_in(AppTest.from_file(str(VIEWS / "monitoring.py"), default_timeout=180),
                   "clinician")
    page.run()  # and the page itself refuses the role
    assert "may not open this page" in texts(page.error) and not page.dataframe
