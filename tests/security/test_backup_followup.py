"""Backup → restore loses nothing of the follow-up records (issue 13): visits, maintenance
plans, dose-only records and maintenance sessions come back row for row."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest
from security_helpers import patient, register
from sqlalchemy import Engine

from base import settings
from records import repository
from records.backup.create import backup, store_counts
from records.backup.restore import restore
from records.db import make_engine, session_factory
from records.followup.frames import doses_frame, plans_frame, visits_frame
from records.followup.imports import import_followup
from records.followup.record import add_visit, set_plan
from records.migrate import upgrade

END = datetime(2026, 3, 4, 9, 30, tzinfo=timezone.utc)


def _session(number: int, phase: str = "induction") -> dict:
    return {"session_number": number, "day": 3 * (number - 1), "route": "iv",
            "dose_mg_per_kg": 0.5, "phq9": 8, "phq9_item9": 0, "gad7": 10, "pcl5": None,
            "cssrs": 0, "sbp_pre": 122, "dbp_pre": 78, "hr_pre": 72, "sbp_post": 138,
            "dbp_post": 86, "hr_post": 80, "cadss": 8, "nausea": False, "vomiting": False,
            "headache": False, "dizziness": False, "sedation": True,
            "minutes_to_discharge": 95, "dropout_after": False, "phase": phase,
            "session_at": END + timedelta(days=3 * (number - 4))}


def _frames(engine: Engine) -> list[pd.DataFrame]:
    with session_factory(engine)() as db:
        return [visits_frame(db), plans_frame(db), doses_frame(db),
                repository.sessions_frame(db)]


@pytest.fixture
def store() -> Engine:
    engine = make_engine()
    upgrade(engine)
    with session_factory(engine)() as db:
        repository.add_patient(db, patient(1) | {"planned_sessions": 4})
        for number in range(1, 5):
            repository.add_session(db, "KAP-00001", _session(number))
        repository.add_session(db, "KAP-00001", _session(6, "maintenance"))
        add_visit(db, "KAP-00001", {"visit_at": END + timedelta(days=7), "phq9": 9,
                                    "moca": 28, "urinary_symptoms": False, "notes": "ok"},
                  recorded_by="dr.rivera")
        set_plan(db, "KAP-00001", "weekly", effective_on=date(2026, 3, 5), reason=None,
                 recorded_by="dr.rivera")
        db.commit()
        import_followup(db, pd.DataFrame({"patient_id": ["KAP-00001"], "kind": ["maintenance"],
                                          "day_after_series": [14], "route": ["iv"],
                                          "dose_mg_per_kg": [0.5]}))
    register(settings.default_registry_dir(), "backed-up")
    yield engine
    engine.dispose()


def test_backup_and_restore_keep_every_followup_row(store: Engine, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    before, frames = store_counts(store), _frames(store)
    assert (before["followup_visits"], before["maintenance_plans"],
            before["followup_doses"]) == (1, 1, 1)
    report = backup(tmp_path / "bk")
    public_key = settings.signing_key_file().with_name("signing.pub")
    monkeypatch.setenv("KAPCDS_HOME", str(tmp_path / "new-home"))
    restore(tmp_path / "bk", trust_key=public_key)
    engine = make_engine()
    try:
        after = store_counts(engine)
        for name in ("followup_visits", "maintenance_plans", "followup_doses", "sessions"):
            assert after[name] == report.counts[name] == before[name]
        for old, new in zip(frames, _frames(engine), strict=True):
            pd.testing.assert_frame_equal(new, old)
        assert list(_frames(engine)[3]["phase"]) == ["induction"] * 4 + ["maintenance"]
    finally:
        engine.dispose()
