"""The follow-up forms' service side (no Streamlit, no model): visits and plan changes are
refused field by field with nothing saved, saved with their audit entry otherwise; a
follow-up CSV import reports file, row and column."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from base.clock import clinic_timezone
from dashboard.services.entry.followup import (
    day_from_dates,
    import_followup_csv,
    plan_now,
    save_plan,
    save_visit,
)
from dashboard.services.entry.form_errors import FormErrors
from models.contract.schema import defaults
from records import repository
from records.audit.trail import iter_entries
from records.db import make_engine, session_factory
from records.followup.record import list_visits
from records.migrate import upgrade
from records.security.policy import Actor

PID = "KAP-00001"
END = datetime(2026, 6, 1, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def ws(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    upgrade(engine)
    with session_factory(engine)() as db:
        repository.add_patient(db, {**defaults(), "patient_id": PID, "name": "A B",
                                    "phq9_baseline": 20, "planned_sessions": 4})
        for n in range(1, 5):
            repository.add_session(db, PID, {
                "session_number": n, "route": "iv", "dose_mg_per_kg": 0.5, "phq9": 8,
                "phq9_item9": 0, "gad7": 8, "pcl5": None, "cssrs": 0, "sbp_pre": 124,
                "dbp_pre": 80, "hr_pre": 70, "sbp_post": 134, "dbp_post": 84, "hr_post": 76,
                "cadss": 6, "nausea": False, "vomiting": False, "headache": False,
                "dizziness": False, "sedation": False, "minutes_to_discharge": 110,
                "dropout_after": False, "session_at": END - timedelta(days=3 * (4 - n))})
        db.commit()
    yield SimpleNamespace(engine=engine, actor=Actor("dr.rivera", "clinician"))
    engine.dispose()


def _actions(ws) -> list[str]:
    with session_factory(ws.engine)() as db:
        return [e["action"] for e in iter_entries(db)]


def test_visit_refused_by_field_then_saved_and_audited(ws) -> None:
    assert day_from_dates(ws, PID)
    with pytest.raises(FormErrors) as info:
        save_visit(ws, PID, {"phq9": None}, day=None, at=None)
    assert info.value.by_field["visit_at"] == ["Enter the date and time of the visit "
                                               "(clinic time)."]
    on = END.astimezone(clinic_timezone()).date() + timedelta(days=14)
    with pytest.raises(FormErrors) as info:
        save_visit(ws, PID, {"phq9": 31}, day=on, at=datetime(2026, 1, 1, 10).time())
    assert "phq9" in info.value.by_field
    day = save_visit(ws, PID, {"phq9": 9, "moca": None}, day=on,
                     at=datetime(2026, 1, 1, 10).time())
    assert day == 14
    with session_factory(ws.engine)() as db:
        [visit] = list_visits(db, PID)
        assert (visit.phq9, visit.moca, visit.recorded_by) == (9, None, "dr.rivera")
    assert _actions(ws).count("followup_create") == 1


def test_plan_change_needs_a_reason_and_is_audited(ws) -> None:
    save_plan(ws, PID, "weekly", effective_on=date(2026, 6, 2), reason="")
    with pytest.raises(FormErrors) as info:
        save_plan(ws, PID, "as_needed", effective_on=date(2026, 7, 1), reason=" ")
    assert "reason" in info.value.by_field
    assert plan_now(ws, PID) == "weekly"
    save_plan(ws, PID, "as_needed", effective_on=date(2026, 7, 1), reason="stable")
    assert plan_now(ws, PID) == "as_needed"
    assert _actions(ws).count("plan_change") == 2


def test_followup_csv_import_reports_rows_and_saves_nothing(ws) -> None:
    bad = b"patient_id,day_after_series,phq9\nKAP-00001,7,9\nKAP-00001,x,9\nKAP-00002,7,9\n"
    outcome = import_followup_csv(ws, ("fu.csv", bad))
    assert not outcome.ok
    rows = {(r.row, r.column) for r in outcome.errors.itertuples()}
    assert {(3, "day_after_series"), (4, "patient_id")} <= rows
    with session_factory(ws.engine)() as db:
        assert list_visits(db, PID) == []
    good = import_followup_csv(ws, ("fu.csv", b"patient_id,day_after_series,phq9\n"
                                              b"KAP-00001,7,9\n"))
    assert good.ok and good.sessions == 1
