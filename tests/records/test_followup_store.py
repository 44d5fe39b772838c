"""Follow-up in the store (issue 13), on SQLite and PostgreSQL: visits, plans, maintenance
sessions, all-or-nothing import, relapse from stored visits, de-identified views."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pandas as pd
import pytest
from sqlalchemy.orm import Session

from models.clinical.followup_record import relapse_status
from models.clinical.followup_summary import followup_rows, followup_summary
from models.contract.validation import InputValidationError
from records import repository as repo
from records.errors import StaleRecordError
from records.followup.frames import doses_frame, plans_frame, visits_frame
from records.followup.imports import import_followup
from records.followup.record import (
    add_visit,
    current_plan,
    list_plans,
    list_visits,
    set_plan,
    update_visit,
)
from records.frames import patients_frame, sessions_frame
from records.security.deidentify import deidentify

Row = Callable[..., dict[str, Any]]
PID = "KAP-00001"


def _series(db: Session, make_patient: Row, make_session: Row, n: int = 4) -> datetime:
    """A patient (baseline PHQ-9 20, plan of n sessions) and n induction sessions; returns
    the last session's time (the end of the series)."""
    repo.add_patient(db, make_patient(1, phq9_baseline=20, planned_sessions=n))
    for number in range(1, n + 1):
        repo.add_session(db, PID, {k: v for k, v in make_session(number=number).items()
                                   if k != "patient_id"} | {"phq9": 8})
    db.commit()
    return make_session(number=n)["session_at"]


def _visit(end: datetime, days: int, **values: Any) -> dict[str, Any]:
    return {"visit_at": end + timedelta(days=days, hours=1), **values}


def _errors(excinfo: pytest.ExceptionInfo) -> dict[str | None, str]:
    return {e.column: e.message for e in excinfo.value.errors}


def test_visit_needs_a_time_and_something_recorded(db: Session, make_patient: Row,
                                                   make_session: Row) -> None:
    end = _series(db, make_patient, make_session)
    with pytest.raises(InputValidationError) as info:
        add_visit(db, PID, {"phq9": 9})
    assert "visit_at" in _errors(info)
    with pytest.raises(InputValidationError) as info:
        add_visit(db, PID, _visit(end, 7))
    assert "nothing recorded" in _errors(info)["phq9"]
    with pytest.raises(InputValidationError) as info:
        add_visit(db, PID, _visit(end, 7, phq9=30, moca=31))
    assert {"phq9", "moca"} <= set(_errors(info))
    with pytest.raises(InputValidationError) as info:
        add_visit(db, PID, _visit(end, -2, phq9=9))
    assert "before the last induction session" in _errors(info)["visit_at"]


def test_visit_is_stored_as_entered_and_corrected_with_versions(
        db: Session, make_patient: Row, make_session: Row) -> None:
    end = _series(db, make_patient, make_session)
    visit = add_visit(db, PID, _visit(end, 14, phq9=9, gad7=6, notes=" fine "),
                      recorded_by="dr.rivera")
    db.commit()
    assert (visit.day_after_series, visit.phq9, visit.gad7) == (14, 9, 6)  # day from dates
    assert visit.moca is None and visit.urinary_symptoms is None  # not done, not defaulted
    assert (visit.notes, visit.recorded_by, visit.version) == ("fine", "dr.rivera", 1)
    updated = update_visit(db, PID, visit.id, {"moca": 27}, expected_version=1)
    db.commit()
    assert (updated.moca, updated.phq9, updated.version) == (27, 9, 2)
    with pytest.raises(StaleRecordError, match="version 1.*version 2"):
        update_visit(db, PID, visit.id, {"moca": 25}, expected_version=1)
    db.rollback()
    assert [v.moca for v in list_visits(db, PID)] == [27]


def test_plan_changes_keep_the_history_and_need_a_reason(db: Session, make_patient: Row,
                                                         make_session: Row) -> None:
    _series(db, make_patient, make_session)
    with pytest.raises(InputValidationError) as info:
        set_plan(db, PID, None, effective_on=None, reason=None, recorded_by="dr")
    assert {"schedule", "effective_on"} <= set(_errors(info))
    set_plan(db, PID, "weekly", effective_on=date(2026, 3, 10), reason=None, recorded_by="dr")
    with pytest.raises(InputValidationError) as info:
        set_plan(db, PID, "as_needed", effective_on=date(2026, 4, 1), reason="",
                 recorded_by="dr")
    assert "from weekly" in _errors(info)["reason"]
    set_plan(db, PID, "as_needed", effective_on=date(2026, 4, 1), reason="stable",
             recorded_by="dr")
    db.commit()
    assert [p.schedule for p in list_plans(db, PID)] == ["weekly", "as_needed"]
    assert current_plan(db, PID) == "as_needed"


def test_maintenance_session_is_a_full_session_after_the_series(
        db: Session, make_patient: Row, make_session: Row) -> None:
    _series(db, make_patient, make_session, n=4)
    row = {k: v for k, v in make_session(number=5).items() if k != "patient_id"}
    with pytest.raises(InputValidationError, match="past the plan"):
        repo.add_session(db, PID, dict(row))  # induction past the plan needs confirming
    db.rollback()
    record = repo.add_session(db, PID, {**row, "phase": "maintenance"})  # no question
    db.commit()
    assert (record.phase, record.past_plan_confirmed) == ("maintenance", None)
    frame = sessions_frame(db, PID)
    assert list(frame["phase"]) == ["induction"] * 4 + ["maintenance"]
    rows = followup_rows(frame, visits_frame(db), doses_frame(db))
    assert list(rows["kind"]) == ["maintenance"]
    assert int(rows["day_after_series"].iloc[0]) == 3  # 3 days after session 4
    assert int(rows["cumulative_sessions"].iloc[0]) == 5
    assert float(rows["cumulative_mg_per_kg"].iloc[0]) == pytest.approx(2.5)


def test_relapse_status_follows_two_consecutive_visits(db: Session, make_patient: Row,
                                                       make_session: Row) -> None:
    end = _series(db, make_patient, make_session)  # baseline 20, end 8: a responder
    for days, phq9 in ((7, 9), (14, 11), (21, 9), (28, 12)):
        add_visit(db, PID, _visit(end, days, phq9=phq9))
    db.commit()

    def status() -> Any:
        rows = followup_rows(sessions_frame(db), visits_frame(db), doses_frame(db))
        return followup_summary(patients_frame(db), sessions_frame(db), rows,
                                plans_frame(db)).loc[PID]

    before = status()
    assert before["relapse"] is not None and not before["relapse"]
    assert "one more" in before["status"]
    add_visit(db, PID, _visit(end, 35, phq9=14))
    db.commit()
    now = status()
    assert (now["relapse"], now["days_to_relapse"], now["relapse_8w"]) == (True, 28, True)
    none = relapse_status(pd.DataFrame({"day_after_series": [7], "phq9": [15]}), 20, 15)
    assert none.responder is False and none.relapse is None


def test_import_is_all_or_nothing_with_row_and_column(db: Session, make_patient: Row,
                                                      make_session: Row) -> None:
    _series(db, make_patient, make_session)
    bad = pd.DataFrame({"patient_id": [PID, PID, "KAP-09999", PID],
                        "kind": ["followup", "maintenance", "followup", "followup"],
                        "day_after_series": [7, 9, 7, 14], "phq9": [9, None, 9, None],
                        "route": [None, "iv", None, None],
                        "dose_mg_per_kg": [None, 3.0, None, None]})
    with pytest.raises(InputValidationError) as info:
        import_followup(db, bad)
    found = {(e.row, e.column) for e in info.value.errors}
    assert {(3, "dose_mg_per_kg"), (4, "patient_id"), (5, "phq9")} <= found
    assert visits_frame(db).empty and doses_frame(db).empty  # nothing written
    good = bad.iloc[[0, 1]].assign(dose_mg_per_kg=[None, 0.5])
    summary = import_followup(db, good)
    assert (summary.visits, summary.doses) == (1, 1)
    assert list(doses_frame(db)["route"]) == ["iv"]


def test_trainees_see_shifted_dates_and_no_free_text(db: Session, make_patient: Row,
                                                     make_session: Row) -> None:
    end = _series(db, make_patient, make_session)
    add_visit(db, PID, _visit(end, 7, phq9=9, notes="called her sister"), recorded_by="dr")
    set_plan(db, PID, "weekly", effective_on=date(2026, 3, 10), reason="private reason",
             recorded_by="dr")
    db.commit()
    key = b"k" * 32
    for frame, moment in ((visits_frame(db), "visit_at"), (plans_frame(db), "effective_on")):
        shown = deidentify(frame, key)
        assert not {"notes", "reason", "recorded_by"} & set(shown.columns)
        assert shown["patient_id"].iloc[0] != PID
        assert shown[moment].iloc[0] != frame[moment].iloc[0]
        assert shown["recorded_at"].iloc[0] - frame["recorded_at"].iloc[0] == \
            shown[moment].iloc[0] - frame[moment].iloc[0]  # intervals stay true
    assert visits_frame(db)["visit_at"].iloc[0] == pd.Timestamp(
        end + timedelta(days=7, hours=1)).tz_convert(timezone.utc)
