"""Home's session-alert summary names every alert kind with its wording (issue 23, defect 2)."""

from __future__ import annotations

import time

import pandas as pd

from dashboard.services.cohort.overview import alert_counts
from models.clinical.session_alerts import cohort_alerts


def _session(pid: str, **values: object) -> dict[str, object]:
    row: dict[str, object] = {
        "patient_id": pid, "session_number": 2, "phq9": 18, "phq9_item9": 0, "cssrs": 0,
        "sbp_pre": 120, "dbp_pre": 80, "hr_pre": 70, "sbp_post": 130, "dbp_post": 82,
        "hr_post": 75, "cadss": 5}
    row.update(values)
    return row


def test_alert_counts_name_new_kinds_with_wording() -> None:
    patients = pd.DataFrame({"patient_id": ["A", "B", "C", "D"], "phq9_baseline": [20] * 4})
    sessions = pd.DataFrame([_session("A", cadss=24), _session("B", cadss=30),
                             _session("C", hr_post=118), _session("D", phq9_item9=2)])
    counts = alert_counts(cohort_alerts(patients, sessions))
    rows = {r.alert: r for r in counts.itertuples(index=False)}
    assert list(counts["alert"])[0] == "suicide risk"  # high severity first
    assert rows["dissociation"].patients == 2 and "CADSS" in rows["dissociation"].example
    assert rows["heart rate"].patients == 1 and "118 beats/min" in rows["heart rate"].example
    assert alert_counts(cohort_alerts(patients, sessions.iloc[0:0])).empty


def test_home_shows_the_session_alert_summary(open_page) -> None:  # noqa: ANN001
    """Once the store's cohort is prepared (a background job on a fresh server)."""
    for _ in range(60):
        at = open_page("home")
        assert not at.exception, [e.value for e in at.exception]
        if not any("being computed" in i.value for i in at.info):
            break
        time.sleep(2)
    assert "Session alerts now" in [h.value for h in at.header]
    assert any("patients still in treatment" in c.value for c in at.caption)
