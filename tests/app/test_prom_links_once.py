"""Issue 23 defect 1 for the questionnaire links: "Create link(s)" makes (and e-mails) one
set of links per rendered form; a repeat of the same submission — a second click that
reached the server first — makes nothing new and says so."""

from __future__ import annotations

from collections.abc import Callable

from apptest_helpers import as_read, texts
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest
from test_form_submissions import _instance, _replay, _submit

from dashboard.services.workspace import Workspace
from records.db import session_factory
from records.tables.clinical import Patient
from records.tables.proms import PromInvitation

PID = "KAP-00031"


def _links(workspace: Workspace) -> int:
    with session_factory(workspace.engine)() as session:
        return int(session.scalar(select(func.count(PromInvitation.id)).join(Patient)
                                  .where(Patient.patient_id == PID)) or 0)


def test_create_links_makes_one_set_per_form(open_page: Callable[[str], AppTest],
                                             workspace: Workspace) -> None:
    at = open_page("progress")
    at.selectbox(key="pr_patient").set_value(PID).run()
    first = _instance(at, f"proms_invite_{PID}")
    before = _links(workspace)
    _submit(at, first.key(f"proms_invite_{PID}"), "Create link(s)")
    assert _links(workspace) == before + 1  # PHQ-9, the default
    assert any("/q/" in str(c.value) for c in at.code), "the new link is shown once"
    assert _instance(at, f"proms_invite_{PID}").token != first.token  # renewed
    _replay(at, first)  # the same click again, with the first form's token
    _submit(at, first.key(f"proms_invite_{PID}"), "Create link(s)")
    assert _links(workspace) == before + 1
    assert "already made" in as_read(texts(at.info))
