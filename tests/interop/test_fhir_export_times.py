"""Issue 23 defect 5: no time in an export that nobody recorded (the clock is frozen)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pandas as pd
import pytest

from interop.fhir.exporter import bundle as exporter
from interop.fhir.exporter.bundle import export_assessment
from interop.fhir.util import DATA_ABSENT_REASON, NO_SCREENING_TIME, NO_SESSION_TIME
from models.clinical.eligibility import screen
from models.contract import schema

FROZEN = datetime(2026, 12, 7, 15, 0, tzinfo=timezone.utc)
PREDICTIONS = {"response": 0.62, "remission": 0.31, "significant_dissociation": 0.18,
               "nausea_vomiting": 0.27, "hypertensive_reaction": 0.09, "dropout": 0.22}
TIME_ELEMENTS = ("effectiveDateTime", "occurrenceDateTime", "issued", "effectiveInstant")


class _FrozenClock(datetime):
    @classmethod
    def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
        return FROZEN if tz is None else FROZEN.astimezone(tz)


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> datetime:
    monkeypatch.setattr(exporter, "datetime", _FrozenClock)
    return FROZEN


@pytest.fixture
def row() -> dict[str, Any]:
    return {schema.ID_COLUMN: "KAP-00007", schema.NAME_COLUMN: "Robin Synthetic",
            **schema.defaults()}


def _session(number: int, at: object) -> dict[str, Any]:
    return {"session_number": number, "session_at": at, "route": "iv", "dose_mg_per_kg": 0.5,
            "phq9": 14, "phq9_item9": 0, "gad7": 9, "pcl5": None, "cssrs": 0, "sbp_pre": 120,
            "dbp_pre": 80, "hr_pre": 70, "sbp_post": 135, "dbp_post": 85, "hr_post": 80,
            "cadss": 8, "nausea": False, "vomiting": False, "headache": False,
            "dizziness": False, "sedation": False, "minutes_to_discharge": 120,
            "dropout_after": False}


def _resources(out: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["resource"] for e in out["entry"]]


def _times(resources: list[dict[str, Any]]) -> list[datetime]:
    """Every clinical time in the resources, parsed (the validator writes UTC as Z)."""
    found = [r[k] for r in resources for k in TIME_ELEMENTS if k in r]
    found += [r["period"]["start"] for r in resources if "start" in r.get("period", {})]
    return [datetime.fromisoformat(t.replace("Z", "+00:00")) for t in found]


def _absent(resource: dict[str, Any], element: str) -> bool:
    ext = (resource.get(f"_{element}") or {}).get("extension") or []
    return any(e["url"] == DATA_ABSENT_REASON for e in ext) and element not in resource


def test_no_exported_effective_time_equals_the_export_time(frozen: datetime, row: dict) -> None:
    sessions = pd.DataFrame([_session(1, pd.Timestamp("2026-11-02 10:30", tz="UTC")),
                             _session(2, pd.NaT)])
    out = export_assessment(row, PREDICTIONS, screen(row), "v-test", sessions=sessions,
                            every_input=True)
    stamp = datetime.fromisoformat(out["timestamp"].replace("Z", "+00:00"))
    assert stamp == frozen  # the file's own time, and only there
    times = _times(_resources(out))
    assert frozen not in times
    assert datetime(2026, 11, 2, 10, 30, tzinfo=timezone.utc) in times  # the recorded one


def test_screening_values_without_a_measurement_time_say_why(frozen: datetime, row: dict) -> None:
    out = export_assessment(row, PREDICTIONS, screen(row), "v-test", every_input=True)
    observations = [r for r in _resources(out) if r["resourceType"] == "Observation"]
    assert len(observations) > 30  # LOINC screening values + every other input + the screen
    for obs in observations:
        assert _absent(obs, "effectiveDateTime"), obs["code"]
        assert any("left out" in n["text"] for n in obs["note"])
    assert any(n["text"] == NO_SCREENING_TIME for o in observations for n in o["note"])
    for risk in (r for r in _resources(out) if r["resourceType"] == "RiskAssessment"):
        assert _absent(risk, "occurrenceDateTime")
        assert "no recorded prediction" in risk["note"][-1]["text"]


def test_recorded_times_are_used(frozen: datetime, row: dict) -> None:
    measured = datetime(2026, 10, 1, 8, 0, tzinfo=timezone.utc)
    shown = datetime(2026, 10, 3, 14, 12, tzinfo=timezone.utc)
    out = export_assessment(row, PREDICTIONS, screen(row), "v-test",
                            measured_at={"phq9_baseline": measured, "systolic_bp": measured,
                                         "diastolic_bp": measured},
                            predicted_at=shown)
    resources = _resources(out)
    phq9 = next(r for r in resources if r["resourceType"] == "Observation"
                and r["code"]["coding"][0]["code"] == "44261-6")
    assert _times([phq9]) == [measured]
    bp = next(r for r in resources if r["resourceType"] == "Observation"
              and r["code"]["coding"][0]["code"] == "85354-9")
    assert _times([bp]) == [measured]
    risks = [r for r in resources if r["resourceType"] == "RiskAssessment"]
    assert len(risks) == 6 and set(_times(risks)) == {shown}


def test_session_vitals_without_a_date_are_left_out_with_the_reason(frozen: datetime,
                                                                     row: dict) -> None:
    out = export_assessment(row, PREDICTIONS, screen(row), "v-test",
                            sessions=pd.DataFrame([_session(1, pd.NaT)]))
    encounter = next(r for r in _resources(out) if r["resourceType"] == "Encounter")
    assert encounter["period"]["extension"][0]["url"] == DATA_ABSENT_REASON
    session_obs = [r for r in _resources(out) if "encounter" in r]
    assert session_obs and all(_absent(o, "effectiveDateTime") for o in session_obs)
    assert all(o["note"][-1]["text"] == NO_SESSION_TIME for o in session_obs)
