"""Treatment progress: the session form starts empty and refuses to save until every required
field is entered (issue 12), copying dose and route is an explicit, stored action, the date
and time are the clinician's, a session past the plan needs confirmation, and a saved
session adds a row and a chart point."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, time
from typing import Any

import pandas as pd
import pytest
from apptest_helpers import as_read, n_sessions, plotly_figures, texts, trace
from streamlit.testing.v1 import AppTest

from dashboard.services.workspace import Workspace
from models.contract.doses import dose_feature_for
from models.contract.schema import ESKETAMINE_ROUTE as ESK
from records.db import session_factory
from records.repository import sessions_for, sessions_frame

REQUIRED_NUMBERS = ("dose", "phq9", "phq9_item9", "gad7", "cssrs", "sbp_pre",
                    "dbp_pre", "hr_pre", "sbp_post", "dbp_post", "hr_post", "cadss")
YES_NO = ("nausea", "vomiting", "headache", "dizziness", "sedation", "dropout_after")
VALUES: dict[str, Any] = {"dose": 0.5, "phq9": 11, "phq9_item9": 0, "gad7": 8,
                          "cssrs": 0, "sbp_pre": 124, "dbp_pre": 80, "hr_pre": 70,
                          "sbp_post": 134, "dbp_post": 84, "hr_post": 76, "cadss": 6}
# The monitoring record (tests/app/test_session_monitoring_form.py tests it on its own).
MONITORING: dict[str, Any] = {"sbp_discharge": 126, "dbp_discharge": 80, "spo2_lowest": 97,
                              "moaas_post": 5, "moaas_discharge": 5}
MONITORING_YES_NO = ("dissociation_discharge", "respiratory_depression",
                     "serious_adverse_event", "cm_benzodiazepine", "cm_hypnotic",
                     "cm_psychostimulant", "cm_maoi")


def _open(open_page: Callable[[str], AppTest], pid: str) -> AppTest:
    at = open_page("progress")
    at.selectbox(key="pr_patient").set_value(pid).run()
    assert not at.exception
    return at


def _observed_points(at: AppTest) -> int:
    figure = next(f for f in plotly_figures(at) if "PHQ-9" in f["layout"]["title"]["text"])
    return len(trace(figure, "observed PHQ-9")["x"])


def _prefix(at: AppTest, pid: str) -> str:
    key = next(k for k in at.session_state.keys()  # the session number is no input any more
               if k.startswith(f"pr_{pid}_") and k.endswith("_date") and "_m_" not in k)
    return key[: -len("_date")]


def _fill(at: AppTest, prefix: str, skip: tuple[str, ...] = (), **values: Any) -> None:
    """Enter every required field of the session form (but ``skip``), like a clinician,
    without a run in between: the route is a field of the form and the dose one number
    (``{prefix}_dose``) in the route's unit, 0.5 mg/kg unless told."""
    entered = {**VALUES, **values}
    if "route" not in skip:
        at.selectbox(key=f"{prefix}_route").set_value(entered.get("route", "iv"))
    for name in REQUIRED_NUMBERS:
        if name not in skip:
            at.number_input(key=f"{prefix}_{name}").set_value(entered[name])
    for name in YES_NO:
        if name not in skip:
            at.radio(key=f"{prefix}_{name}").set_value(bool(entered.get(name, False)))
    if "when" not in skip:
        at.date_input(key=f"{prefix}_date").set_value(entered.get("on", date(2026, 3, 2)))
        at.time_input(key=f"{prefix}_time").set_value(entered.get("clock", time(10, 30)))
    if f"{prefix}_day" in at.session_state and "day" not in skip:  # first session undated
        at.number_input(key=f"{prefix}_day").set_value(entered.get("day_number", 30))
    if "monitoring" not in skip:
        fill_monitoring(at, prefix, **values)


def fill_monitoring(at: AppTest, prefix: str, **values: Any) -> None:
    """Enter the monitoring record: 10:40 dose, ready 12:45 (125 min) unless told."""
    entered = {**MONITORING, **values}
    for name in MONITORING:
        at.number_input(key=f"{prefix}_m_{name}").set_value(entered[name])
    for name in MONITORING_YES_NO:
        at.radio(key=f"{prefix}_m_{name}").set_value(bool(entered.get(name, False)))
    at.time_input(key=f"{prefix}_dose_time").set_value(entered.get("dose_time", time(10, 40)))
    at.time_input(key=f"{prefix}_ready_time").set_value(entered.get("ready_time", time(12, 45)))


def _save(at: AppTest) -> AppTest:
    at.button(key=next(b.key for b in at.button if "session_form" in str(b.key))).click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_form_starts_empty_and_refuses_to_save_naming_each_field(
        open_page: Callable[[str], AppTest], workspace: Workspace) -> None:
    pid = "KAP-00026"
    at = _open(open_page, pid)
    prefix = _prefix(at, pid)
    for name in REQUIRED_NUMBERS:  # the dose too: one field, its unit follows the route
        assert at.number_input(key=f"{prefix}_{name}").value is None, name
    assert at.number_input(key=f"{prefix}_pcl5").value is None
    assert at.selectbox(key=f"{prefix}_route").value is None
    assert all(at.radio(key=f"{prefix}_{name}").value is None for name in YES_NO)
    assert at.date_input(key=f"{prefix}_date").value is None
    assert at.time_input(key=f"{prefix}_time").value is None
    rows = n_sessions(workspace, pid)
    at.number_input(key=f"{prefix}_sbp_post").set_value(150)  # only the BP, as in the issue
    _save(at)
    errors = [as_read(e.value) for e in at.error]
    assert "Nothing was saved: correct the fields marked below." in errors
    assert "Required: enter an integer from 0 to 27 points." in errors  # PHQ-9
    assert "Required: enter an integer from 30 to 200 beats/min." in errors  # HR
    assert "Required: answer yes or no." in errors  # yes/no items
    assert "Enter the date and time of the session (clinic time)." in errors
    assert "Required: choose one of the options." in errors
    assert len(errors) >= len(REQUIRED_NUMBERS) - 1 + len(YES_NO) + 1  # one under each field
    assert n_sessions(workspace, pid) == rows


def test_an_esketamine_session_is_recorded_in_mg_and_shown_as_mg(
        open_page: Callable[[str], AppTest], workspace: Workspace) -> None:
    """HAZ-240: the one Dose field takes 56 for intranasal esketamine: stored in mg without
    mg/kg, shown as "56 mg" in the session table; the route chosen last loses nothing."""
    pid = "KAP-00015"  # an esketamine patient within the plan
    at = _open(open_page, pid)
    prefix = _prefix(at, pid)
    _fill(at, prefix, skip=("route",), dose=56.0)
    at.selectbox(key=f"{prefix}_route").set_value("intranasal_esketamine")
    at.text_input(key=f"{prefix}_lot_number").set_value("ESK-1")  # REMS: the device lot
    _save(at)
    assert "saved." in texts(at.success), [as_read(e.value) for e in at.error]
    with session_factory(workspace.engine)() as session:
        stored = sessions_for(session, pid)[-1]
    assert (stored.esketamine_dose_mg, stored.dose_mg_per_kg) == (56.0, None)
    table = next(d.value for d in at.dataframe if "Dose" in d.value.columns)
    assert table["Dose"].iloc[-1] == "56 mg"
    assert "mg/kg" not in " ".join(c for c in table.columns if "Dose" in c)


def test_recording_a_session_adds_a_row_and_a_point(open_page: Callable[[str], AppTest],
                                                    workspace: Workspace) -> None:
    pid = "KAP-00029"
    at = _open(open_page, pid)
    rows, points = n_sessions(workspace, pid), _observed_points(at)
    prefix = _prefix(at, pid)
    _fill(at, prefix, phq9=6)
    _save(at)
    number = rows + 1
    assert f"Session {number} saved." in texts(at.success)
    assert n_sessions(workspace, pid) == rows + 1
    assert _observed_points(at) == points + 1
    table = next(d.value for d in at.dataframe if "PHQ-9 (points)" in d.value.columns)
    assert len(table) == rows + 1 and table["PHQ-9 (points)"].iloc[-1] == 6
    with session_factory(workspace.engine)() as session:
        stored = sessions_for(session, pid)[-1]
    assert stored.carried_forward == {} and stored.past_plan_confirmed is False
    assert stored.day == 30  # the first session has no recorded date, so day was entered


def test_copying_dose_and_route_is_explicit_and_stored(open_page: Callable[[str], AppTest],
                                                       workspace: Workspace) -> None:
    pid = "KAP-00030"
    at = _open(open_page, pid)
    prefix = _prefix(at, pid)
    with session_factory(workspace.engine)() as session:
        last = sessions_for(session, pid)[-1]
    at.button(key=f"{prefix}_carry_session {last.session_number}").click().run()
    copied = getattr(last, dose_feature_for(last.route))  # in the route's unit
    assert at.number_input(key=f"{prefix}_dose").value == pytest.approx(copied)
    assert at.selectbox(key=f"{prefix}_route").value == last.route
    assert f"Copied from session {last.session_number}" in texts(at.info)
    assert at.number_input(key=f"{prefix}_phq9").value is None  # measurements stay empty
    _fill(at, prefix, skip=("route", "dose"))
    changed = (84.0 if copied == 56 else 56.0) if last.route == ESK else copied + 0.05
    at.number_input(key=f"{prefix}_dose").set_value(changed)
    _save(at)
    with session_factory(workspace.engine)() as session:
        stored = sessions_for(session, pid)[-1]
    # the dose was changed after copying, so only the route is stored as carried forward
    assert stored.carried_forward == {"route": f"session {last.session_number}"}
    table = next(d.value for d in at.dataframe if "PHQ-9 (points)" in d.value.columns)
    assert table["Carried forward"].iloc[-1] == \
        f"route from session {last.session_number}"
    assert table["Carried forward"].iloc[0] == "not recorded"  # seeded session


def test_time_is_entered_in_the_clinic_zone_and_shown_in_it(
        open_page: Callable[[str], AppTest], workspace: Workspace,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAPCDS_TIMEZONE", "Europe/Berlin")
    pid = "KAP-00032"
    at = _open(open_page, pid)
    prefix = _prefix(at, pid)
    assert "Date (Europe/Berlin)" in [w.label for w in at.date_input]
    _fill(at, prefix, on=date(2026, 1, 12), clock=time(10, 30))
    _save(at)
    with session_factory(workspace.engine)() as session:
        frame = sessions_frame(session, pid)
    assert frame["session_at"].iloc[-1] == pd.Timestamp("2026-01-12 09:30", tz="UTC")
    table = next(d.value for d in at.dataframe if "PHQ-9 (points)" in d.value.columns)
    column = "Date and time (Europe/Berlin)"
    assert table[column].iloc[-1] == "2026-01-12 10:30 CET"
    assert table[column].iloc[0] == "date not recorded"  # seeded: never invented


def test_now_is_an_explicit_button(open_page: Callable[[str], AppTest]) -> None:
    pid = "KAP-00033"
    at = _open(open_page, pid)
    prefix = _prefix(at, pid)
    assert at.date_input(key=f"{prefix}_date").value is None
    at.button(key=f"{prefix}_now").click().run()
    assert at.date_input(key=f"{prefix}_date").value is not None
    assert at.time_input(key=f"{prefix}_time").value is not None


def test_a_session_past_the_plan_needs_confirmation_and_is_flagged(
        open_page: Callable[[str], AppTest], workspace: Workspace) -> None:
    pid = "KAP-00040"  # attended every planned session
    at = _open(open_page, pid)
    prefix = _prefix(at, pid)
    rows = n_sessions(workspace, pid)
    # issue 23 defect 10: the number is shown as the next one, and no warning appears
    # before anything is entered; the store's refusal brings the confirmation box
    assert f"Session {rows + 1} (next; {rows} planned)" in texts(at.markdown)
    assert "past the plan" not in texts(at.warning)
    _fill(at, prefix)
    _save(at)
    assert f"Session {rows + 1} is past the plan ({rows + 1} of {rows} planned sessions); " \
        "confirm" in as_read(texts(at.error))
    assert n_sessions(workspace, pid) == rows
    at.checkbox(key=f"{prefix}_past_plan").check()
    _save(at)
    assert f"Session {rows + 1} saved." in texts(at.success)
    with session_factory(workspace.engine)() as session:
        assert sessions_for(session, pid)[-1].past_plan_confirmed is True
    metric = next(m for m in at.metric if m.label == "Sessions attended")
    assert metric.value == f"{rows + 1} of {rows}"
    assert "1 session(s) recorded past the plan" in texts(at.warning)
    table = next(d.value for d in at.dataframe if "PHQ-9 (points)" in d.value.columns)
    assert table["Past the plan"].iloc[-1] == f"{rows + 1} of {rows}, confirmed"


def test_bad_session_value_shows_error_and_saves_nothing(open_page: Callable[[str], AppTest],
                                                         workspace: Workspace) -> None:
    pid = "KAP-00050"
    at = _open(open_page, pid)
    rows = n_sessions(workspace, pid)
    prefix = _prefix(at, pid)
    _fill(at, prefix, phq9=40)
    _save(at)
    errors = texts(at.error)
    assert "40 is outside the allowed range" in errors
    assert "Nothing was saved" in errors
    assert n_sessions(workspace, pid) == rows


def test_alerts_are_listed_for_a_hypertensive_session(open_page: Callable[[str], AppTest],
                                                      workspace: Workspace) -> None:
    pid = "KAP-00052"
    at = _open(open_page, pid)
    number = n_sessions(workspace, pid) + 1
    _fill(at, _prefix(at, pid), sbp_post=186, dbp_post=100)
    _save(at)
    assert f"Session {number} · blood pressure: Post-dose BP 186/100 mmHg" in texts(at.error)


def test_page_shows_plan_charts_and_alerts(open_page: Callable[[str], AppTest]) -> None:
    at = _open(open_page, "KAP-00003")
    assert any(m.label == "Sessions attended" for m in at.metric)
    titles = [f["layout"]["title"]["text"] for f in plotly_figures(at)]
    assert any("PHQ-9" in t for t in titles) and any("Blood pressure" in t for t in titles)
    assert "Status:" in texts(at.markdown)
