"""CDS Hooks safety cards (issue 23): session alerts, PHQ-9 item 9 critical, stale inputs."""

from __future__ import annotations

from datetime import date, datetime, timezone

from cds_support import validate

from interop.cds_hooks.cards import PatientData, build_cards
from models.clinical.session_alerts import Alert
from models.contract import schema


def _data(**extra: object) -> PatientData:
    return PatientData("pat-1", {}, schema.feature_names(), **extra)  # type: ignore[arg-type]


def test_stored_session_alerts_become_cards() -> None:
    alerts = [Alert("KAP-00001", 4, "heart rate", "warning", "Post-dose heart rate 120 …"),
              Alert("KAP-00001", 4, "dissociation", "warning", "CADSS 24 ≥ 20 …"),
              Alert("KAP-00001", 4, "blood pressure", "high", "Post-dose BP 190/100 …")]
    cards = build_cards(_data(alerts=alerts), None, "https://kap.example")
    validate({"cards": cards}, "response")
    summaries = [(c["summary"], c["indicator"]) for c in cards[:3]]
    assert summaries == [("Session 4 alert: blood pressure", "critical"),
                         ("Session 4 alert: heart rate", "warning"),
                         ("Session 4 alert: dissociation", "warning")]
    assert "CADSS 24 ≥ 20" in cards[2]["detail"]


def test_item9_positive_is_a_critical_card_naming_it() -> None:
    when = datetime(2026, 11, 30, 9, 0, tzinfo=timezone.utc)
    cards = build_cards(_data(item9=3, item9_at=when, today=date(2026, 12, 7)), None,
                        "https://kap.example")
    validate({"cards": cards}, "response")
    first = cards[0]
    assert first["indicator"] == "critical"
    assert first["summary"] == "Suicide risk: PHQ-9 item 9 = 3 on 2026-11-30"
    assert "assess suicide risk" in first["detail"]
    assert not any(c["indicator"] == "critical" for c in build_cards(
        _data(item9=0, item9_at=when), None, "https://kap.example"))


def test_stale_input_is_named_with_its_date() -> None:
    old = datetime(2012, 3, 4, tzinfo=timezone.utc)
    recent = datetime(2026, 11, 20, tzinfo=timezone.utc)
    data = _data(observed={"systolic_bp": old, "diastolic_bp": old, "heart_rate": recent,
                           "phq9_baseline": None}, today=date(2026, 12, 7))
    cards = build_cards(data, None, "https://kap.example")
    stale = next(c for c in cards if c["summary"].startswith("Old inputs used"))
    assert stale["indicator"] == "warning"
    assert "Screening systolic BP from 2012-03-04" in stale["detail"]
    assert "Screening diastolic BP from 2012-03-04" in stale["detail"]
    assert "PHQ-9" in stale["detail"] and "undated" in stale["detail"]
    assert "Heart rate" not in stale["summary"]  # 17 days old: within 90


def test_prefetch_asks_for_a_lone_item9_observation_and_questionnaires() -> None:
    from interop.cds_hooks.cards import discovery

    prefetch = discovery()["services"][0]["prefetch"]
    assert "http://loinc.org|44260-8" in prefetch["observations"]
    assert prefetch["questionnaires"].startswith("QuestionnaireResponse?patient=")
