"""The session form's monitoring record (issue 13 point 4): every field starts empty, a
dosing session is refused without the required ones (a message under each), and a saved
record with short monitoring or a high discharge BP is saved with a warning and listed in
the session alerts; each session has a monitoring-form download."""

from __future__ import annotations

from collections.abc import Callable
from datetime import time

from apptest_helpers import as_read, audit_entries, n_sessions, texts
from streamlit.testing.v1 import AppTest
from test_progress import MONITORING, MONITORING_YES_NO, _fill, _open, _prefix, _save

from dashboard.services.workspace import Workspace
from records.db import session_factory
from records.repository import sessions_for


def test_monitoring_fields_start_empty_and_each_missing_one_is_named(
        open_page: Callable[[str], AppTest], workspace: Workspace) -> None:
    pid = "KAP-00065"
    at = _open(open_page, pid)
    prefix = _prefix(at, pid)
    for name in MONITORING:
        assert at.number_input(key=f"{prefix}_m_{name}").value is None, name
    assert all(at.radio(key=f"{prefix}_m_{name}").value is None for name in MONITORING_YES_NO)
    assert at.time_input(key=f"{prefix}_dose_time").value is None
    assert at.time_input(key=f"{prefix}_ready_time").value is None
    assert at.text_input(key=f"{prefix}_lot_number").value == ""
    rows = n_sessions(workspace, pid)
    _fill(at, prefix, skip=("monitoring",))  # everything else entered
    _save(at)
    errors = [as_read(e.value) for e in at.error]
    assert "Nothing was saved: correct the fields marked below." in errors
    expected = ["Time of dose", "Ready to leave", "Systolic BP before discharge (mmHg)",
                "Lowest SpO2 (pulse oximetry) (%)", "Sedation (MOAA/S) before discharge",
                "Respiratory depression", "MAOI at this session"]
    for label in expected:
        assert any(f"enter this session's {label}" in e for e in errors), label
    monitoring_errors = [e for e in errors if "required for the monitoring record" in e]
    assert len(monitoring_errors) == len(MONITORING) + len(MONITORING_YES_NO) + 2
    assert n_sessions(workspace, pid) == rows


def test_esketamine_needs_a_lot_number_and_an_sae_a_description(
        open_page: Callable[[str], AppTest], workspace: Workspace) -> None:
    pid = "KAP-00066"
    at = _open(open_page, pid)
    prefix = _prefix(at, pid)
    rows = n_sessions(workspace, pid)
    _fill(at, prefix, route="intranasal_esketamine", esketamine_dose_mg=56,
          serious_adverse_event=True)
    _save(at)
    errors = as_read(texts(at.error))
    assert "Required: enter the device lot number (required for intranasal esketamine)." \
        in errors
    assert "Required: describe the serious adverse event." in errors
    assert n_sessions(workspace, pid) == rows
    at.text_input(key=f"{prefix}_lot_number").set_value("ESK-4410")
    at.text_area(key=f"{prefix}_sae_description").set_value("syncope; ambulance <b>called</b>")
    _save(at)
    assert f"Session {rows + 1} saved." in texts(at.success), texts(at.error)
    with session_factory(workspace.engine)() as session:
        stored = sessions_for(session, pid)[-1]
    assert (stored.lot_number, stored.sae_description) == (
        "ESK-4410", "syncope; ambulance <b>called</b>")  # stored as typed, shown as text


def test_short_monitoring_and_high_discharge_bp_save_with_warnings_and_alerts(
        open_page: Callable[[str], AppTest], workspace: Workspace) -> None:
    pid = "KAP-00063"
    at = _open(open_page, pid)
    prefix = _prefix(at, pid)
    number = n_sessions(workspace, pid) + 1
    _fill(at, prefix, dose_time=time(10, 40), ready_time=time(11, 55), sbp_discharge=184,
          dbp_discharge=96)
    _save(at)
    assert f"Session {number} saved." in texts(at.success)
    warnings = texts(at.warning)
    assert "Monitoring was 75 min (dose → ready to leave), shorter than the 2 h" in warnings
    assert "Discharge BP 184/96 mmHg is at or above the alert threshold 180/110." in warnings
    assert f"Session {number} · discharge blood pressure: BP before discharge 184/96" \
        in texts(at.error)
    assert f"Session {number} · monitoring: Monitored 75 min from dose to ready" in warnings
    with session_factory(workspace.engine)() as session:
        stored = sessions_for(session, pid)[-1]
    assert stored.minutes_to_discharge == 75  # follows from the two times
    detail = audit_entries(workspace, "session_create")[-1]["detail"]
    assert f"session {number} on " in detail and "monitoring 75 min dose→ready" in detail
    assert "2 warning(s)" in detail
    assert (stored.sbp_discharge, stored.spo2_lowest, stored.cm_maoi) == (184, 97, False)
    at.run()  # the warnings are shown once, after saving
    assert "Monitoring was 75 min" not in texts(at.warning)


def test_complete_monitoring_saves_without_warning_and_offers_each_sessions_form(
        open_page: Callable[[str], AppTest], workspace: Workspace) -> None:
    pid = "KAP-00068"
    at = _open(open_page, pid)
    prefix = _prefix(at, pid)
    number = n_sessions(workspace, pid) + 1
    _fill(at, prefix)  # 10:40 → 12:45: 125 min
    _save(at)
    assert f"Session {number} saved." in texts(at.success)
    assert "Monitoring was" not in texts(at.warning)
    buttons = [e for e in at.get("download_button")]
    keys = {getattr(b, "key", None) or b.proto.id for b in buttons}
    assert any(f"pr_mon_pdf_{pid}_{number}" in str(k) for k in keys), keys
    assert sum(f"pr_mon_pdf_{pid}_" in str(k) for k in keys) == number  # one per session


def test_a_dose_time_without_a_session_date_says_the_date_is_missing(
        open_page: Callable[[str], AppTest], workspace: Workspace) -> None:
    pid = "KAP-00070"
    at = _open(open_page, pid)
    prefix = _prefix(at, pid)
    rows = n_sessions(workspace, pid)
    _fill(at, prefix, skip=("when",))
    _save(at)
    errors = [as_read(e.value) for e in at.error]
    assert errors.count("Enter the date of the session: this time is on that date.") == 2
    assert "Enter the date and time of the session (clinic time)." in errors
    assert n_sessions(workspace, pid) == rows
