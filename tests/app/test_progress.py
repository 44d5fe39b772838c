"""Treatment progress: recording a session adds a row and a chart point; a bad value is
shown under its field and nothing is saved."""

from __future__ import annotations

from collections.abc import Callable

from apptest_helpers import n_sessions, plotly_figures, texts, trace
from streamlit.testing.v1 import AppTest

from dashboard.services.workspace import Workspace


def _open(open_page: Callable[[str], AppTest], pid: str) -> AppTest:
    at = open_page("progress")
    at.selectbox(key="pr_patient").set_value(pid).run()
    assert not at.exception
    return at


def _observed_points(at: AppTest) -> int:
    figure = next(f for f in plotly_figures(at) if "PHQ-9" in f["layout"]["title"]["text"])
    return len(trace(figure, "observed PHQ-9")["x"])


def _next_number(at: AppTest, pid: str) -> int:
    keys = [k for k in at.session_state.keys() if k.startswith(f"pr_{pid}_")
            and k.endswith("_session_number")]
    return int(at.session_state[keys[0]])


def test_page_shows_plan_charts_and_alerts(open_page: Callable[[str], AppTest]) -> None:
    at = _open(open_page, "KAP-00003")
    assert any(m.label == "Sessions attended" for m in at.metric)
    titles = [f["layout"]["title"]["text"] for f in plotly_figures(at)]
    assert any("PHQ-9" in t for t in titles) and any("Blood pressure" in t for t in titles)
    assert "Status:" in texts(at.markdown)


def test_recording_a_session_adds_a_row(open_page: Callable[[str], AppTest],
                                        workspace: Workspace) -> None:
    pid = "KAP-00004"
    at = _open(open_page, pid)
    rows, points = n_sessions(workspace, pid), _observed_points(at)
    number = _next_number(at, pid)
    at.number_input(key=f"pr_{pid}_{number}_phq9").set_value(6)
    at.form_submit_button[0].click().run()
    assert not at.exception
    assert f"Session {number} saved." in texts(at.success)
    assert n_sessions(workspace, pid) == rows + 1
    assert _observed_points(at) == points + 1
    table = next(d.value for d in at.dataframe if "PHQ-9 (points)" in d.value.columns)
    assert len(table) == rows + 1 and table["PHQ-9 (points)"].iloc[-1] == 6


def test_bad_session_value_shows_error_and_saves_nothing(open_page: Callable[[str], AppTest],
                                                         workspace: Workspace) -> None:
    pid = "KAP-00005"
    at = _open(open_page, pid)
    rows = n_sessions(workspace, pid)
    number = _next_number(at, pid)
    at.number_input(key=f"pr_{pid}_{number}_phq9").set_value(40)
    at.form_submit_button[0].click().run()
    errors = texts(at.error)
    assert "40 is outside the allowed range" in errors
    assert "Nothing was saved" in errors
    assert n_sessions(workspace, pid) == rows


def test_alerts_are_listed_for_a_hypertensive_session(open_page: Callable[[str], AppTest],
                                                      workspace: Workspace) -> None:
    pid = "KAP-00006"
    at = _open(open_page, pid)
    number = _next_number(at, pid)
    at.number_input(key=f"pr_{pid}_{number}_sbp_post").set_value(186)
    at.number_input(key=f"pr_{pid}_{number}_dbp_post").set_value(100)
    at.form_submit_button[0].click().run()
    assert f"Session {number} · blood pressure: Post-dose BP 186/100 mmHg" in texts(at.error)
