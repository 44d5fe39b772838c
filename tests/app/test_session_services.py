"""The session form's service side (no Streamlit): what the form knows before anything is
entered, and how the sessions table says what is unknown (issue 12)."""

from __future__ import annotations

import pandas as pd

from dashboard.services.entry.form_errors import form_wording
from dashboard.services.patients.progress import next_session, sessions_table
from models.contract.schema import defaults

ROW = pd.Series({**defaults(), "data_gaps": []})


def _sessions(n: int, **columns: object) -> pd.DataFrame:
    frame = pd.DataFrame({"session_number": range(1, n + 1), "day": range(0, 3 * n, 3),
                          "route": ["iv"] * n, "dose_mg_per_kg": [0.5] * n, "phq9": [12] * n,
                          "session_at": [pd.NaT] * n, "carried_forward": [None] * n,
                          "past_plan_confirmed": [None] * n})
    for name, values in columns.items():
        frame[name] = values
    return frame


def test_next_session_has_no_measurement_and_offers_copies_explicitly() -> None:
    nxt = next_session(ROW, _sessions(2))
    assert (nxt.number, nxt.planned, nxt.past_plan, nxt.day_from_dates) == (3, 6, False, False)
    assert [o.source for o in nxt.carry] == ["session 2", "plan"]
    assert all(set(o.values) == {"dose_mg_per_kg", "route"} for o in nxt.carry)
    first = next_session(ROW, _sessions(0))
    assert first.day_from_dates and [o.source for o in first.carry] == ["plan"]


def test_esketamine_copies_and_shows_its_dose_in_mg_never_per_kg() -> None:
    row = pd.Series({**ROW, "route": "intranasal_esketamine", "dose_mg_per_kg": None,
                     "esketamine_dose_mg": 84.0})
    sessions = _sessions(2, route=["intranasal_esketamine"] * 2, dose_mg_per_kg=[None] * 2,
                         esketamine_dose_mg=[56.0, 56.0])
    nxt = next_session(row, sessions)
    assert [o.values for o in nxt.carry] == [
        {"route": "intranasal_esketamine", "esketamine_dose_mg": 56},
        {"route": "intranasal_esketamine", "esketamine_dose_mg": 84}]
    assert "dose 84 mg" in nxt.carry[1].summary
    table = sessions_table(sessions, 6)
    assert table["Dose"].tolist() == ["56 mg", "56 mg"]
    assert not any("mg/kg" in str(c) for c in table.columns)


def test_gaps_in_the_plan_are_never_offered_or_compared() -> None:
    row = pd.Series({**ROW, "data_gaps": ["route", "planned_sessions"]})
    nxt = next_session(row, _sessions(7))
    assert [o.source for o in nxt.carry] == ["session 7"]  # not the placeholder plan
    assert nxt.planned is None and not nxt.past_plan


def test_sessions_table_says_what_is_not_recorded() -> None:
    moment = pd.Timestamp("2026-03-02 09:30", tz="UTC")
    frame = _sessions(7, session_at=[pd.NaT] * 6 + [moment],
                      carried_forward=[None] * 5 + [{}, {"route": "session 5"}],
                      past_plan_confirmed=[None] * 6 + [True])
    table = sessions_table(frame, 6)
    when = next(c for c in table.columns if c.startswith("Date and time ("))
    assert list(table.columns[:4]) == ["Session", when, "Past the plan", "PHQ-9 (points)"]
    assert table[when].iloc[0] == "date not recorded"
    assert table["Carried forward"].tolist()[-3:] == ["not recorded", "none",
                                                      "route from session 5"]
    assert table["Past the plan"].iloc[-1] == "7 of 6, confirmed"


def test_form_wording_names_what_to_enter() -> None:
    assert form_wording("missing value; expected an integer from 0 to 27 points") == \
        "Required: enter an integer from 0 to 27 points."
    assert form_wording("missing value; expected true/false (or 1/0, yes/no)") == \
        "Required: answer yes or no."
    assert form_wording("session 8 is past the plan") == "Session 8 is past the plan"
