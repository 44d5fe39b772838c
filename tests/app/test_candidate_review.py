"""Candidate review: search and filters narrow the list, the outcome picker changes the
explanation, a decision that departs from the suggestion needs a reason, and a decision
carries the signed-in user and role with its time in the clinic's zone (issue 12)."""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from apptest_helpers import USERS, hold_cohort_build, plotly_figures, texts
from streamlit.testing.v1 import AppTest

from dashboard.services.lab.quality import shown_outcomes
from dashboard.services.patients.listing import (
    PAGE_SIZE,
    assess_patient,
    cohort_table,
    page_count,
    patient_list,
)
from dashboard.services.workspace import Workspace
from models.contract.schema import outcome
from records.db import session_factory
from records.repository import decisions_for

PID = "KAP-00001"


def _open(open_page: Callable[[str], AppTest], search: str = PID) -> AppTest:
    at = open_page("candidate_review")
    at.text_input(key="cr_search").set_value(search).run()
    assert not at.exception
    return at


def _sentences(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if "percentage point" in m.value]


def _waterfall_title(at: AppTest) -> str:
    return next(f["layout"]["title"]["text"] for f in plotly_figures(at)
                if f["data"][0]["type"] == "waterfall")


def test_search_filters_the_list(open_page: Callable[[str], AppTest]) -> None:
    at = open_page("candidate_review")
    everyone = len(at.dataframe[0].value)
    at.text_input(key="cr_search").set_value("KAP-0001").run()
    found = at.dataframe[0].value
    assert 0 < len(found) < everyone
    assert found["Patient"].str.contains("KAP-0001").all()
    assert at.selectbox(key="cr_patient").value.startswith("KAP-0001")


def test_status_and_risk_filters(open_page: Callable[[str], AppTest]) -> None:
    at = open_page("candidate_review")
    at.multiselect(key="cr_status").set_value(["not_eligible"]).run()
    assert set(at.dataframe[0].value["Eligibility"]) == {"not eligible"}
    at.multiselect(key="cr_status").set_value([]).run()
    at.selectbox(key="cr_risk_outcome").set_value("hypertensive_reaction").run()
    at.slider(key="cr_risk_min").set_value(30).run()
    risky = at.dataframe[0].value
    assert (risky["Hypertensive reaction"] >= 0.30).all()


def test_no_match_says_so(open_page: Callable[[str], AppTest]) -> None:
    at = _open(open_page, "no such patient zzz")
    assert "No patient matches" in texts(at.info)


def test_outcome_picker_changes_the_explanation(open_page: Callable[[str], AppTest]) -> None:
    at = _open(open_page)
    assert "Largest effects on response" in texts(at.markdown)
    title = _waterfall_title(at)
    assert title.startswith("Why response is predicted at")
    before = _sentences(at)
    assert before and all("chance of response" in s for s in before)
    # nausea/vomiting fails the first model's quality gate: it cannot be explained
    assert "nausea_vomiting" not in at.selectbox(key="cr_outcome").options
    at.selectbox(key="cr_outcome").set_value("hypertensive_reaction").run()
    assert "Largest effects on hypertensive reaction" in texts(at.markdown)
    after = _sentences(at)
    assert after and all("risk of hypertensive reaction" in s for s in after)
    assert _waterfall_title(at).startswith("Why hypertensive reaction is predicted at")



def test_assessment_shows_screen_predictions_and_uncertainty(
        open_page: Callable[[str], AppTest], workspace: Workspace) -> None:
    at = _open(open_page)
    assert "Eligibility screen:" in texts([*at.success, *at.warning, *at.error])
    table = next(d.value for d in at.dataframe if "Percentile" in d.value.columns)
    shown = shown_outcomes(workspace.card)  # the first model: all but nausea/vomiting
    assert list(table["Outcome"]) == [outcome(n).label for n in shown]
    assert "**Nausea or vomiting**: not shown — this model does not reliably rank " \
           "patients for this outcome" in texts(at.markdown)
    # whole percentages (one decimal below 1 %), never "61.05 %"
    assert table["Predicted"].between(0, 100).all()
    assert all(v == round(v) or v < 1 for v in table["Predicted"])
    evidence = table["What happened to similar test patients"]
    assert evidence.str.match(r"^\d+(\.\d)?% \(\d+(\.\d)?%–\d+(\.\d)?%\) of \d+$").all(), \
        list(evidence)
    hidden = _expanders(at)
    shown_text = "\n".join(m.value for m in [*at.markdown, *at.caption]
                           if m.value not in hidden)
    for jargon in ("had it", "TreeSHAP", " bin ", "log-odds"):
        assert jargon not in shown_text, jargon
    assert "TreeSHAP" in hidden  # the technical account is one click away


def test_decision_differing_without_reason_is_refused(open_page: Callable[[str], AppTest],
                                                      workspace: Workspace) -> None:
    at = _open(open_page, "KAP-00002")
    pid = at.selectbox(key="cr_patient").value
    assert at.radio(key=f"dec_{pid}").value is None  # nothing preselected
    at.form_submit_button[0].click().run()
    assert "Choose a decision" in texts(at.error)
    suggestion = assess_patient(workspace, cohort_table(workspace), pid).suggestion
    other = next(d for d in ("proceed", "do_not_proceed") if d != suggestion)
    at.radio(key=f"dec_{pid}").set_value(other)
    at.form_submit_button[0].click().run()
    assert "A reason is required" in texts(at.error)
    with session_factory(workspace.engine)() as session:
        assert decisions_for(session, pid) == []
    at.text_area(key=f"dec_reason_{pid}").set_value("Patient preference after discussion")
    at.form_submit_button[0].click().run()
    assert "Decision recorded" in texts(at.success)
    with session_factory(workspace.engine)() as session:
        stored = decisions_for(session, pid)
    assert [(d.decision, d.suggested, d.model_version) for d in stored] == [
        (other, suggestion, workspace.version)]
    history = next(d.value for d in at.dataframe if "clinician" in d.value.columns)
    assert list(history["reason"]) == ["Patient preference after discussion"]


def test_the_decision_carries_the_signed_in_user_and_role(
        open_page: Callable[[str], AppTest], workspace: Workspace,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAPCDS_TIMEZONE", "America/New_York")
    at = _open(open_page, "KAP-00007")
    pid = at.selectbox(key="cr_patient").value
    assert not [w for w in at.text_input if str(w.key).startswith("dec_clin")]  # no typed name
    assert f"Recorded as {USERS['clinician']} (clinician), the signed-in user." in texts(
        at.caption).replace("\\", "")
    suggestion = assess_patient(workspace, cohort_table(workspace), pid).suggestion
    at.radio(key=f"dec_{pid}").set_value(suggestion)  # the suggested one: no reason needed
    at.form_submit_button[0].click().run()
    assert "Decision recorded" in texts(at.success)
    with session_factory(workspace.engine)() as session:
        stored = decisions_for(session, pid)
    assert [(d.clinician, d.role) for d in stored] == [(USERS["clinician"], "clinician")]
    history = next(d.value for d in at.dataframe if "clinician" in d.value.columns)
    assert list(history["clinician"]) == [USERS["clinician"]]
    assert list(history["role"]) == ["clinician"]
    assert "when (America/New_York)" in history.columns and "when (UTC)" not in history.columns
    local = stored[0].created_at.astimezone(ZoneInfo("America/New_York"))
    assert history["when (America/New_York)"].iloc[0] == f"{local:%Y-%m-%d %H:%M}"


def _expanders(at: AppTest) -> str:
    """The text behind 'How this is computed' (technical terms belong there)."""
    return "\n".join(m.value for e in at.expander if e.label == "How this is computed"
                     for m in e.markdown)


def test_the_list_is_paged_and_the_open_patient_stays_open(
        open_page: Callable[[str], AppTest], workspace: Workspace) -> None:
    """Issue 18: the browser gets one page of the store, never all of it."""
    ids = list(cohort_table(workspace).index)
    at = open_page("candidate_review")
    first = at.dataframe[0].value
    assert list(first["Patient"]) == ids[:PAGE_SIZE]
    assert (f"{len(ids):,} of {len(ids):,} patients match · showing 1–{PAGE_SIZE}"
            in texts(at.caption))
    chosen = ids[5]
    at.selectbox(key="cr_patient").set_value(chosen).run()
    last_page = page_count(len(ids))
    at.number_input(key="cr_page").set_value(last_page).run()
    last = at.dataframe[0].value
    assert list(last["Patient"]) == ids[(last_page - 1) * PAGE_SIZE:]
    picker = at.selectbox(key="cr_patient")
    assert picker.value == chosen  # paging does not change the open patient
    assert [o.split(" — ")[0] for o in picker.options] == [chosen, *last["Patient"]]
    assert at.session_state["cr_patient"] == chosen
    at.text_input(key="cr_search").set_value("KAP-0000").run()  # the filter shortens it
    assert at.number_input(key="cr_page").value == 1 and not at.exception


def test_the_list_opens_before_the_store_is_predicted(
        open_page: Callable[[str], AppTest], workspace: Workspace,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 31: while the background build of the store's predictions runs, the list comes
    from the store at once with only the shown rows predicted (the same numbers the finished
    table holds); the percentile, the store's risk profile and the eligibility and risk
    filters say they are being computed instead of showing a number; they fill in after."""
    from dashboard.widgets import resources

    full = cohort_table(workspace)
    release = hold_cohort_build(monkeypatch)  # the sample store behaves as a large one
    try:
        at = open_page("candidate_review")
        assert resources.cohort_pending(workspace, wait_s=0)  # still building
        listed = at.dataframe[0].value
        expected = patient_list(full.iloc[:PAGE_SIZE], workspace.card)
        assert list(listed["Patient"]) == list(expected["Patient"])
        for column in expected.columns[3:]:  # every outcome shown, and the OOD flag
            assert np.array_equal(listed[column].to_numpy(dtype=float),
                                  expected[column].to_numpy(dtype=float), equal_nan=True)
        assert f"of {len(full):,} patients match" in texts(at.caption)
        table = next(d.value for d in at.dataframe if "Percentile" in d.value.columns)
        assert set(table["Percentile"]) == {"computing…"}
        assert "How this patient compares with the store: being computed" in texts(at.caption)
        assert not [f for f in plotly_figures(at) if f["data"][0]["type"] == "box"]
        at.multiselect(key="cr_status").set_value(["not_eligible"]).run()
        assert "being computed for this model version" in texts(at.info)
        assert at.dataframe[0].value.empty and "No patient matches" not in texts(at.info)
        at.multiselect(key="cr_status").set_value([]).run()
        at.text_input(key="cr_search").set_value("KAP-0001").run()  # the search works now
        found = at.dataframe[0].value
        assert len(found) and found["Patient"].str.contains("KAP-0001").all()
    finally:
        release.set()
    monkeypatch.setattr(resources, "WAIT_BELOW", 10**9)  # built: the page waits for it
    at = open_page("candidate_review")
    at.multiselect(key="cr_status").set_value(["not_eligible"]).run()
    assert set(at.dataframe[0].value["Eligibility"]) == {"not eligible"}
    at.multiselect(key="cr_status").set_value([]).run()
    table = next(d.value for d in at.dataframe if "Percentile" in d.value.columns)
    assert table["Percentile"].between(0, 100).all()
    assert [f for f in plotly_figures(at) if f["data"][0]["type"] == "box"]
