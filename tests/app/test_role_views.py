"""What each role sees: trainees cannot reach clinician pages (not by menu, not by URL, not
by running the page), see no names or ids; views, decisions and exports are audited;
administrators read, filter and verify the audit trail and manage accounts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from apptest_helpers import audit_entries, shown_text, sign_in, texts
from streamlit.testing.v1 import AppTest

from dashboard.services.access import with_actor
from dashboard.services.cohort.export import predictions_csv
from dashboard.services.patients.listing import cohort_table
from dashboard.services.workspace import Workspace
from models.contract.schema import NAME_COLUMN
from records.db import session_factory
from records.repository import sessions_for, update_session
from records.security.policy import Actor
from records.security.users import get_user

VIEWS = Path(__file__).resolve().parents[2] / "dashboard" / "views"
APP = VIEWS.parent / "app.py"


@pytest.fixture(scope="module")
def identities(workspace: Workspace) -> list[str]:
    """Every stored patient's name and id: none may reach a trainee."""
    cohort = cohort_table(workspace)
    return [*cohort[NAME_COLUMN].astype(str), *cohort.index.astype(str)]


def _leaks(text: str, identities: list[str]) -> list[str]:
    return [value for value in identities if value and value in text][:5]


def test_trainee_cannot_open_candidate_review_by_url(kapcds_home: Path, workspace: Workspace,
                                                      identities: list[str]) -> None:
    at = sign_in(AppTest.from_file(str(APP), default_timeout=180), "trainee")
    at.switch_page("views/candidate_review.py")  # the page's URL, typed in
    at.run()
    assert not at.exception
    assert not at.title and "may not open this page" in texts(at.error)  # said, not hidden
    assert not _leaks(shown_text(at), identities)
    denied = audit_entries(workspace, action="access_denied")[-1]
    assert (denied["outcome"], denied["detail"]) == ("denied", "page candidate_review")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("views/candidate_review.py")


def test_the_page_itself_refuses_a_trainee(kapcds_home: Path, workspace: Workspace,
                                           identities: list[str]) -> None:
    """Even run without the router, the page checks the role before rendering anything."""
    at = sign_in(AppTest.from_file(str(VIEWS / "candidate_review.py"), default_timeout=180),
                 "trainee")
    at.run()
    assert "may not open this page" in texts(at.error)
    assert not at.title and not at.dataframe and not _leaks(shown_text(at), identities)
    denied = audit_entries(workspace, action="access_denied")[-1]
    assert (denied["username"], denied["outcome"], denied["detail"]) == (
        "test-trainee", "denied", "page candidate_review")


def test_signed_out_the_page_itself_asks_to_sign_in(kapcds_home: Path) -> None:
    at = AppTest.from_file(str(VIEWS / "progress.py"), default_timeout=180)
    at.run()
    assert "Please sign in first." in texts(at.error) and not at.title


@pytest.mark.parametrize("page", ["home", "cohort", "what_if"])
def test_trainee_pages_show_no_names_or_ids(open_page: Callable[..., AppTest], page: str,
                                            identities: list[str]) -> None:
    at = open_page(page, role="trainee")
    if page == "cohort":
        at.radio(key="co_scope").set_value("everyone with sessions").run()
    assert not _leaks(shown_text(at), identities)


@pytest.mark.parametrize("page", ["cohort", "model_lab", "monitoring"])
def test_data_scientist_pages_show_no_names(open_page: Callable[..., AppTest], page: str,
                                            workspace: Workspace) -> None:
    at = open_page(page, role="data_scientist")
    if page == "cohort":
        at.radio(key="co_scope").set_value("everyone with sessions").run()
    names = list(cohort_table(workspace)[NAME_COLUMN].astype(str))
    assert not _leaks(shown_text(at), names)


def test_downloads_follow_the_role(workspace: Workspace, identities: list[str]) -> None:
    cohort = cohort_table(workspace)
    name, pid = str(cohort[NAME_COLUMN].iloc[0]), str(cohort.index[0])
    clinician = predictions_csv(cohort, "clinician", card=workspace.card)
    assert name in clinician and pid in clinician
    scientist = predictions_csv(cohort, "data_scientist", card=workspace.card)
    assert name not in scientist and pid in scientist
    trainee = predictions_csv(cohort, "trainee", card=workspace.card)
    assert not _leaks(trainee, identities) and trainee.count("\nP-") == len(cohort)
    with pytest.raises(PermissionError):
        predictions_csv(cohort, "admin", card=workspace.card)


def test_clinician_views_and_decisions_are_audited(open_page: Callable[..., AppTest],
                                                   workspace: Workspace) -> None:
    at = open_page("candidate_review")
    patient = at.selectbox(key="cr_patient").value
    mine = [(e["action"], e["patient_id"]) for e in audit_entries(workspace,
                                                                   user="test-clinician")]
    assert ("patient_view", patient) in mine and ("prediction_view", patient) in mine
    assert ("page_view", None) in mine
    at.radio(key=f"dec_{patient}").set_value("proceed")
    at.text_area(key=f"dec_reason_{patient}").set_value("Discussed with the patient")
    at.form_submit_button(key=f"FormSubmitter:decision_{patient}-Record decision").click()
    at.run()
    assert "Decision recorded" in texts(at.success)
    decision = audit_entries(workspace, action="decision")[-1]
    assert (decision["username"], decision["role"], decision["patient_id"],
            decision["category"]) == ("test-clinician", "clinician", patient, "identified")


def test_session_correction_refuses_a_stale_save(open_page: Callable[..., AppTest],
                                                 workspace: Workspace) -> None:
    pid = "KAP-00003"
    at = open_page("progress")
    at.selectbox(key="pr_patient").set_value(pid).run()
    with session_factory(workspace.engine)() as session:
        number = sessions_for(session, pid)[0].session_number
    at.selectbox(key=f"sc_{pid}_number").set_value(number).run()
    with session_factory(workspace.engine)() as session:  # a colleague corrects it first
        record = next(r for r in sessions_for(session, pid) if r.session_number == number)
        opened = record.version
        update_session(session, pid, number, {"notes": "colleague"}, expected_version=opened)
        session.commit()
    at.text_area(key=f"sc_{pid}_{number}_{opened}_notes").set_value("mine")
    at.form_submit_button(key=f"FormSubmitter:sc_form_{pid}_{number}-Save correction").click()
    at.run()
    assert "someone else saved this session first" in texts(at.error)
    with session_factory(workspace.engine)() as session:
        record = next(r for r in sessions_for(session, pid) if r.session_number == number)
        assert record.notes == "colleague"
    failed = audit_entries(workspace, action="session_edit")[-1]
    assert failed["outcome"] == "failure" and "StaleRecordError" in failed["detail"]


def test_admin_reads_filters_and_verifies_the_audit_trail(open_page: Callable[..., AppTest],
                                                          workspace: Workspace) -> None:
    at = open_page("audit", role="admin")
    table = at.dataframe[0].value
    assert len(table) > 0 and list(table["id"]) == sorted(table["id"], reverse=True)
    at.text_input(key="al_user").set_value("test-clinician").run()
    assert set(at.dataframe[0].value["username"]) <= {"test-clinician"}
    at.button(key="al_verify").click().run()
    assert texts(at.success).startswith("OK:")
    actions = [e["action"] for e in audit_entries(workspace, user="admin")]
    assert "audit_view" in actions and "audit_verify" in actions
    export = with_actor(workspace, Actor("admin", "admin"))  # what the download runs
    from dashboard.services.access import audited_download

    text = audited_download(export, "audit_export", "audit", lambda: "csv")()
    assert text == "csv" and audit_entries(workspace, action="audit_export")


def test_admin_manages_accounts(open_page: Callable[..., AppTest],
                                workspace: Workspace) -> None:
    at = open_page("users", role="admin")
    at.text_input(key="us_new_name").set_value("New.Trainee")
    at.selectbox(key="us_new_role").set_value("trainee")
    at.text_input(key="us_new_password").set_value("a fine long password")
    at.form_submit_button(key="FormSubmitter:us_add-Add").click().run()
    assert "Account new.trainee added." in texts(at.success)
    at.selectbox(key="us_account").set_value("new.trainee").run()
    at.selectbox(key="us_role").set_value("data_scientist")
    at.button(key="us_set_role").click().run()
    with session_factory(workspace.engine)() as session:
        user = get_user(session, "new.trainee")
        assert user is not None and user.role == "data_scientist"
    changes = [e["detail"] for e in audit_entries(workspace, action="role_change")]
    assert changes[-1] == "new.trainee: trainee -> data_scientist"
