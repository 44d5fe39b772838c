"""Shared set-up for the patient-app tests: a store with one patient after a 4-session series."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import Engine

from models.contract.schema import defaults
from records import make_engine, session_factory, upgrade
from records import repository as repo

PID = "KAP-00042"
NAME = "Robin Example"
FIRST = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)


def store_with_patient(folder: Path, sessions: int = 4) -> Engine:
    """A migrated SQLite store with ``PID`` after ``sessions`` dated induction sessions."""
    engine = make_engine(f"sqlite:///{folder / 'store.sqlite3'}")
    upgrade(engine)
    with session_factory(engine)() as db:
        repo.add_patient(db, {"patient_id": PID, "name": NAME, **defaults(),
                              "phq9_baseline": 20, "planned_sessions": sessions})
        for n in range(1, sessions + 1):
            repo.add_session(db, PID, {
                "session_number": n, "day": 3 * (n - 1), "route": "iv",
                "dose_mg_per_kg": 0.5, "phq9": 9, "phq9_item9": 0, "gad7": 8, "pcl5": None,
                "cssrs": 0, "sbp_pre": 122, "dbp_pre": 78, "hr_pre": 72, "sbp_post": 138,
                "dbp_post": 86, "hr_post": 80, "cadss": 8, "nausea": False,
                "vomiting": False, "headache": False, "dizziness": False, "sedation": True,
                "minutes_to_discharge": 95, "dropout_after": False,
                "session_at": FIRST + timedelta(days=3 * (n - 1))})
        db.commit()
    return engine


def phq9_form(item9: int = 0, value: int = 1) -> dict[str, str]:
    """A complete PHQ-9 answer set as the form posts it."""
    return {**{f"item{n}": str(value) for n in range(1, 9)}, "item9": str(item9),
            "difficulty": "1"}
