"""FHIR PHQ-9/GAD-7 Observations dated after the induction series become follow-up visits;
readings of the series itself, and patients without a dated series, give none."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from fhir_builders import COMPLETIONS, bundle, full_record, observation, quantity
from sqlalchemy.orm import Session

from interop.fhir.importer.patient import import_bundle
from interop.fhir.importer.store import store_import
from records import repository
from records.followup.record import list_visits

S = "Patient/p1"
END = datetime(2025, 6, 10, 9, 0, tzinfo=timezone.utc)  # the last induction session


def _session(number: int) -> dict:
    return {"session_number": number, "route": "iv", "dose_mg_per_kg": 0.5, "phq9": 8,
            "phq9_item9": 0, "gad7": 8, "pcl5": None, "cssrs": 0, "sbp_pre": 124,
            "dbp_pre": 80, "hr_pre": 70, "sbp_post": 134, "dbp_post": 84, "hr_post": 76,
            "cadss": 6, "nausea": False, "vomiting": False, "headache": False,
            "dizziness": False, "sedation": False, "minutes_to_discharge": 110,
            "dropout_after": False, "session_at": END - timedelta(days=3 * (6 - number))}


def _later_readings() -> list[dict]:
    return [observation("phq9-s", "44261-6", 10, when="2025-06-08T10:00:00Z", subject=S),
            observation("phq9-a", "44261-6", 9, when="2025-06-24T10:00:00Z", subject=S),
            observation("gad7-a", "70274-6", quantity(5, "{score}"),
                        when="2025-06-24T10:30:00Z", subject=S),
            observation("phq9-b", "44261-6", 12, when="2025-07-08T10:00:00Z", subject=S)]


def test_readings_after_the_series_become_visits(db: Session) -> None:
    first = import_bundle(bundle(full_record("p1") + _later_readings()),
                          reference_date=END.date() + timedelta(days=60))
    created = store_import(db, first, completions=COMPLETIONS)
    assert created.followup_visits == 0  # no series stored yet: nothing to date them after
    pid = created.patient.patient_id
    for number in range(1, 7):
        repository.add_session(db, pid, _session(number))
    db.commit()
    again = store_import(db, first, completions=COMPLETIONS)
    assert again.followup_visits == 2 and "2 follow-up visit(s)" in again.summary()
    visits = list_visits(db, pid)
    assert [(v.day_after_series, v.phq9, v.gad7, v.source) for v in visits] == [
        (14, 9, 5, "fhir"), (28, 12, None, "fhir")]  # 06-08 is during the series: not one
    assert store_import(db, first, completions=COMPLETIONS).followup_visits == 0  # no twice
