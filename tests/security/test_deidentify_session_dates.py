"""Session dates (issue 12) in the trainee and data-scientist views: shifted per patient for
trainees, kept for data scientists, and an unrecorded date stays unrecorded."""

from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd
from security_helpers import patient

from records import repository
from records.db import make_engine, session_factory
from records.migrate import upgrade
from records.security import deidentify as deid
from records.security.policy import DEIDENTIFIED, PSEUDONYMISED

KEY = b"test key"
FIRST = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)


def _sessions() -> pd.DataFrame:
    row = {"route": "iv", "dose_mg_per_kg": 0.5, "phq9": 15, "phq9_item9": 0, "gad7": 10,
           "pcl5": None, "cssrs": 0, "sbp_pre": 122, "dbp_pre": 78, "hr_pre": 72,
           "sbp_post": 138, "dbp_post": 86, "hr_post": 80, "cadss": 8, "nausea": False,
           "vomiting": False, "headache": False, "dizziness": False, "sedation": False,
           "minutes_to_discharge": 95, "dropout_after": False}
    engine = make_engine()
    upgrade(engine)
    with session_factory(engine)() as db:
        repository.add_patient(db, patient(1))
        for number, day in ((1, 0), (2, 7)):
            repository.add_session(db, "KAP-00001", {**row, "session_number": number,
                                                     "day": day, "session_at": FIRST
                                                     + pd.Timedelta(days=day)})
        db.commit()
        first = repository.sessions_for(db, "KAP-00001")[0]  # its monitoring record (0009)
        first.dose_at, first.ready_at = FIRST + pd.Timedelta(minutes=10), FIRST + pd.Timedelta(
            minutes=140)
        first.sae_description, first.lot_number = "fell near Elm Street clinic", "K-9"
        record = repository.sessions_for(db, "KAP-00001")[1]
        record.session_at = None  # as a session recorded before dates were stored
        db.commit()
        frame = repository.sessions_frame(db)
    engine.dispose()
    return frame


def test_trainees_see_session_dates_shifted_and_unknown_dates_stay_unknown() -> None:
    original = _sessions()
    out = deid.for_view(original, DEIDENTIFIED, KEY)
    shift = deid.date_shift("KAP-00001", KEY)
    assert out["session_at"].iloc[0] == original["session_at"].iloc[0] + shift
    assert out["session_at"].iloc[0] != original["session_at"].iloc[0]
    assert pd.isna(out["session_at"].iloc[1])  # not recorded: not invented by shifting
    assert (out["recorded_at"] - original["recorded_at"] == shift).all()
    assert "KAP-00001" not in out.to_csv()


def test_data_scientists_keep_the_dates() -> None:
    original = _sessions()
    out = deid.for_view(original, PSEUDONYMISED, KEY)
    assert out["session_at"].iloc[0] == original["session_at"].iloc[0]


def test_trainees_see_the_monitoring_times_shifted_and_no_free_text() -> None:
    original = _sessions()
    out = deid.for_view(original, DEIDENTIFIED, KEY)
    shift = deid.date_shift("KAP-00001", KEY)
    for moment in ("dose_at", "ready_at"):
        assert out[moment].iloc[0] == original[moment].iloc[0] + shift
        assert pd.isna(out[moment].iloc[1])  # not recorded stays not recorded
    assert (out["ready_at"] - out["dose_at"]).iloc[0] == pd.Timedelta(minutes=130)
    assert not {"sae_description", "lot_number", "product"} & set(out.columns)
    assert "Elm Street" not in out.to_csv()
