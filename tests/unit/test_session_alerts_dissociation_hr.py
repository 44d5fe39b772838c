"""Issue 23 defect 2: significant dissociation (CADSS ≥ 20) and heart-rate alerts (settings)."""

from __future__ import annotations

import pandas as pd
import pytest

from base.settings import ClinicalLimits, SettingError, clinical_limits
from models.clinical.session_alerts import (
    cohort_alerts,
    item9_alert,
    session_alerts,
    suicide_risk_message,
)


def _session(number: int = 1, **values: object) -> dict[str, object]:
    row: dict[str, object] = {
        "patient_id": "P1", "session_number": number, "day": 3 * number, "route": "iv",
        "dose_mg_per_kg": 0.5, "phq9": 18, "phq9_item9": 0, "gad7": 10, "pcl5": None,
        "cssrs": 0, "sbp_pre": 120, "dbp_pre": 80, "hr_pre": 70, "sbp_post": 130,
        "dbp_post": 82, "hr_post": 75, "cadss": 5, "nausea": False, "vomiting": False,
        "headache": False, "dizziness": False, "sedation": False,
        "minutes_to_discharge": 90, "dropout_after": False}
    row.update(values)
    return row


def _alerts(**values: object) -> list[tuple[str, str, str]]:
    return [(a.kind, a.severity, a.message) for a in
            session_alerts("P1", 20, pd.DataFrame([_session(**values)]))]


def test_cadss_at_or_above_20_raises_dissociation_alert() -> None:
    assert _alerts(cadss=19) == []
    [(kind, severity, message)] = _alerts(cadss=20)
    assert (kind, severity) == ("dissociation", "warning")
    [(kind, _, message)] = _alerts(cadss=24)
    assert kind == "dissociation" and "CADSS 24 ≥ 20" in message and "unsourced" in message


def test_post_dose_heart_rate_alert_at_default_threshold() -> None:
    assert _alerts(hr_pre=90, hr_post=109) == []
    [(kind, severity, message)] = _alerts(hr_pre=90, hr_post=110)
    assert (kind, severity) == ("heart rate", "warning")
    assert "110 beats/min ≥ 110" in message and "unsourced" in message


def test_heart_rate_rise_alert_at_default_threshold() -> None:
    assert _alerts(hr_pre=60, hr_post=89) == []  # a rise of 29
    [(kind, _, message)] = _alerts(hr_pre=60, hr_post=90)
    assert kind == "heart rate" and "rose 30 beats/min" in message and "60 → 90" in message
    # a high post-dose rate that also rose is one alert, not two
    assert len(_alerts(hr_pre=60, hr_post=120)) == 1


def test_heart_rate_thresholds_are_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    assert clinical_limits() == ClinicalLimits(110, 30, 90, 30)
    monkeypatch.setenv("KAPCDS_HR_POST_ALERT", "100")
    monkeypatch.setenv("KAPCDS_HR_RISE_ALERT", "40")
    assert [k for k, _, _ in _alerts(hr_pre=70, hr_post=100)] == ["heart rate"]
    assert _alerts(hr_pre=55, hr_post=90) == []  # a rise of 35 < 40
    monkeypatch.setenv("KAPCDS_HR_POST_ALERT", "fast")
    with pytest.raises(SettingError, match="KAPCDS_HR_POST_ALERT"):
        clinical_limits()


def test_new_kinds_reach_the_cohort_alert_list() -> None:
    patients = pd.DataFrame({"patient_id": ["P1", "P2"], "phq9_baseline": [20, 20]})
    sessions = pd.DataFrame([_session(1, cadss=24),
                             {**_session(1, hr_pre=70, hr_post=125), "patient_id": "P2"}])
    table = cohort_alerts(patients, sessions)
    assert sorted(zip(table["patient_id"], table["kind"], strict=True)) == [
        ("P1", "dissociation"), ("P2", "heart rate")]


def test_item9_alert_is_one_rule_for_every_source() -> None:
    assert not item9_alert(0) and not item9_alert(None) and not item9_alert(float("nan"))
    assert item9_alert(1) and item9_alert(3)
    [(kind, severity, message)] = _alerts(phq9_item9=3)
    assert (kind, severity) == ("suicide risk", "high")
    assert message == suicide_risk_message(3, 0)


def test_item9_from_a_sessions_csv_raises_the_suicide_alert(tmp_path) -> None:  # noqa: ANN001
    from models.contract.csv_input import read_csv_strict
    from models.contract.validation import validate_sessions

    header = ("patient_id,session_number,day,route,dose_mg_per_kg,phq9,phq9_item9,gad7,pcl5,"
              "cssrs,sbp_pre,dbp_pre,hr_pre,sbp_post,dbp_post,hr_post,cadss,nausea,vomiting,"
              "headache,dizziness,sedation,minutes_to_discharge,dropout_after")
    rows = ["P1,1,0,iv,0.5,18,0,10,,0,120,80,70,130,82,75,24,false,false,false,false,false,"
            "90,false",
            "P1,2,3,iv,0.5,17,2,10,,0,120,80,70,130,82,75,5,false,false,false,false,false,"
            "90,false"]
    path = tmp_path / "sessions.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    sessions = validate_sessions(read_csv_strict(path))
    kinds = [(a.session_number, a.kind) for a in session_alerts("P1", 20, sessions)]
    assert kinds == [(2, "suicide risk"), (1, "dissociation")]
