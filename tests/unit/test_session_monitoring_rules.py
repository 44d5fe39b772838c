"""The monitoring record's rules (models.clinical.session_monitoring) and its session alerts."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd

from models.clinical.session_alerts import session_alerts
from models.clinical.session_monitoring import (
    MIN_MONITORING_MINUTES,
    REQUIRED,
    consistency_problems,
    derived_minutes,
    monitoring_warnings,
    required_problems,
)
from models.contract.schema import POST_DOSE_DBP_ALERT, POST_DOSE_SBP_ALERT

DOSE = datetime(2026, 3, 2, 9, 40, tzinfo=timezone.utc)


def _session(number: int = 1, **changes: object) -> dict[str, object]:
    row: dict[str, object] = {
        "session_number": number, "phq9": 8, "phq9_item9": 0, "cssrs": 0, "sbp_pre": 120,
        "dbp_pre": 80, "sbp_post": 130, "dbp_post": 84, "minutes_to_discharge": 60}
    row.update(changes)
    return row


def _times(minutes: float) -> dict[str, object]:
    return {"dose_at": DOSE, "ready_at": DOSE + timedelta(minutes=minutes)}


def test_warnings_at_the_thresholds_and_not_below() -> None:
    assert monitoring_warnings(_times(MIN_MONITORING_MINUTES)) == []
    assert monitoring_warnings(_times(MIN_MONITORING_MINUTES - 1))[0].startswith(
        f"Monitoring was {MIN_MONITORING_MINUTES - 1} min")
    assert monitoring_warnings({"sbp_discharge": POST_DOSE_SBP_ALERT - 1,
                                "dbp_discharge": POST_DOSE_DBP_ALERT - 1}) == []
    assert len(monitoring_warnings({"sbp_discharge": POST_DOSE_SBP_ALERT,
                                    "dbp_discharge": 80})) == 1
    assert len(monitoring_warnings({"sbp_discharge": 150,
                                    "dbp_discharge": POST_DOSE_DBP_ALERT})) == 1
    assert monitoring_warnings({}) == []  # nothing recorded: nothing claimed


def test_required_fields_and_route_rules() -> None:
    assert {e.column for e in required_problems({}, "iv")} == set(REQUIRED)
    full = {name: 1 for name in REQUIRED}
    assert required_problems(full, "iv") == []
    assert [e.column for e in required_problems(full, "intranasal_esketamine")] == [
        "lot_number"]
    sae = {**full, "serious_adverse_event": True}
    assert [e.column for e in required_problems(sae, "iv")] == ["sae_description"]
    assert required_problems({**sae, "sae_description": "fall"}, "iv") == []
    assert [e.column for e in required_problems({**full, "dose_at": None}, "iv")] == ["dose_at"]


def test_minutes_follow_from_the_times_and_must_agree() -> None:
    assert derived_minutes(_times(125)) == 125
    assert derived_minutes({**_times(125), "minutes_to_discharge": 110}) is None  # entered
    assert derived_minutes(_times(10)) is None  # outside 30–480: the problem says why
    assert "allows 30 to 480" in consistency_problems(_times(10))[0].message
    assert consistency_problems({**_times(125), "minutes_to_discharge": 125}) == []
    wrong = consistency_problems({**_times(125), "minutes_to_discharge": 95})
    assert [e.column for e in wrong] == ["minutes_to_discharge"]
    assert [e.column for e in consistency_problems(_times(-5))] == ["ready_at"]


def test_alerts_for_a_recorded_monitoring_and_none_for_sessions_before_it() -> None:
    old = _session(1)  # minutes_to_discharge 60, but never measured from a dose time
    short = _session(2, **_times(90), sbp_discharge=150, dbp_discharge=90)
    high = _session(3, **_times(130), sbp_discharge=182, dbp_discharge=100)
    sessions = pd.DataFrame([old, short, high])
    sessions["dose_at"] = pd.to_datetime(sessions["dose_at"], utc=True)
    sessions["ready_at"] = pd.to_datetime(sessions["ready_at"], utc=True)
    alerts = {(a.session_number, a.kind): a for a in session_alerts("P1", 18, sessions)}
    assert set(alerts) == {(2, "monitoring"), (3, "discharge blood pressure")}
    assert alerts[(2, "monitoring")].message.startswith("Monitored 90 min from dose")
    assert alerts[(2, "monitoring")].severity == "warning"
    assert alerts[(3, "discharge blood pressure")].severity == "high"
    assert "182/100 mmHg" in alerts[(3, "discharge blood pressure")].message
