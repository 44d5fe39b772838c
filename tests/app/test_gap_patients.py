"""Issue 12, point 2: a patient with missing inputs gets no suggestion, screen result, range
statement or prediction — the page says what is missing and what the clinician can do."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from apptest_helpers import texts
from streamlit.testing.v1 import AppTest

from dashboard.services.patients.gaps import gap_summary
from dashboard.services.patients.listing import assess_patient, cohort_table, header_line
from dashboard.services.workspace import Workspace
from models.contract.schema import defaults, feature_names
from records.db import session_factory
from records.repository import add_patient, get_patient

PATIENT = "GAP-00012"
RECORDED = {"age", "sex", "phq9_baseline"}  # what a bare FHIR Patient + PHQ-9 gives


@pytest.fixture(scope="module")
def imported_patient(workspace: Workspace) -> str:
    """Saved as the FHIR import saves it: three values, every other input a gap."""
    gaps = [name for name in feature_names() if name not in RECORDED]
    with session_factory(workspace.engine)() as session:
        if get_patient(session, PATIENT) is None:
            add_patient(session, {**defaults(), "patient_id": PATIENT, "name": "Greta Gapson",
                                  "age": 46, "sex": "female", "phq9_baseline": 19}, gaps=gaps)
            session.commit()
    return PATIENT


def test_assessment_of_a_gap_patient_suggests_nothing(workspace: Workspace,
                                                      imported_patient: str) -> None:
    assessment = assess_patient(workspace, cohort_table(workspace), imported_patient)
    assert assessment.eligibility is None and assessment.suggestion is None
    assert assessment.risks == [] and assessment.ood == []
    assert set(assessment.recorded) == RECORDED
    header = header_line(assessment)
    assert header == "46 years · female · primary indication not recorded · Baseline PHQ-9 " \
                     "19 points"
    assert "depression" not in header  # the placeholder diagnosis is never shown


def test_gap_summary_is_one_compact_line() -> None:
    names = [n for n in feature_names() if n not in RECORDED]
    line = gap_summary(names, "Not yet assessable")
    assert line.startswith(f"Not yet assessable: {len(names)} inputs missing (")
    assert line.endswith(f" and {len(names) - 3} more)")
    assert gap_summary(["bmi"], "X") == "X: 1 input missing (Body-mass index)"
    assert gap_summary([], "X") == ""


def test_candidate_review_of_a_gap_patient(open_page: Callable[[str], AppTest],
                                           imported_patient: str) -> None:
    at = open_page("candidate_review")
    at.text_input(key="cr_search").set_value(imported_patient).run()
    assert not at.exception, [e.value for e in at.exception]
    shown = "\n".join([texts(at.warning), texts(at.info), texts(at.success), texts(at.error),
                       texts(at.caption), texts(at.markdown)])
    assert "Not yet assessable:" in texts(at.warning)
    assert "No decision can be recorded yet" in texts(at.info)
    for never in ("Suggested by the screen", "Screen:", "Inputs lie within the range",
                  "Predicted outcomes", "treatment-resistant depression"):
        assert never not in shown, never
    assert not at.radio  # no decision form without a screen result
    missing = [e for e in at.expander if e.label == "What is missing"]
    assert missing and "Body-mass index" in texts(missing[0].text)


def test_compare_and_progress_never_show_placeholders(workspace: Workspace,
                                                      imported_patient: str) -> None:
    from dashboard.services.patients.compare import NOT_RECORDED, compare_patients
    from dashboard.services.patients.progress import patient_progress
    from models.contract.schema import feature

    cohort = cohort_table(workspace)
    other = next(pid for pid in cohort.index if pid.startswith("KAP-"))
    comparison = compare_patients(workspace, cohort, [imported_patient, other], "response")
    shown = comparison.inputs[imported_patient]
    assert shown[feature("bmi").label] == NOT_RECORDED
    assert shown[feature("age").label] == "46 years"
    assert comparison.contributions[imported_patient].isna().all()
    plan = patient_progress(workspace, cohort, imported_patient).plan
    assert "route not recorded" in plan and "planned sessions not recorded" in plan
