"""Add patient with a name already on file (HAZ-040: two tabs typing one person).

The page refuses with the id of the patient on file, keeps every typed value and asks
whether this is a different person; the confirmation adds the patient. Two pages (two tabs)
adding the same new person store one patient: the second is refused naming the first.
"""

from __future__ import annotations

from collections.abc import Callable

from apptest_helpers import as_read, n_patients, texts
from streamlit.testing.v1 import AppTest
from test_form_submissions import _enter_patient, _instance, _submit

from dashboard.services.workspace import Workspace
from models.contract.schema import defaults
from records.db import session_factory
from records.repository import get_patient


def _stored_name(workspace: Workspace, pid: str) -> str:
    with session_factory(workspace.engine)() as session:
        patient = get_patient(session, pid)
        assert patient is not None
        return patient.name


def _add(at: AppTest, name: str) -> None:
    form = _instance(at, "add_patient")
    _enter_patient(at, form.key("add"), name, {**defaults(), "age": 51, "phq9_baseline": 18})
    _submit(at, form.key("add_patient"), "Add patient")


def test_a_name_on_file_asks_before_adding(open_page: Callable[[str], AppTest],
                                           workspace: Workspace) -> None:
    on_file = "KAP-00022"
    typed = "  " + _stored_name(workspace, on_file).upper().replace(",", "") + " "
    at = open_page("data_entry")
    before = n_patients(workspace)
    _add(at, typed)
    assert n_patients(workspace) == before  # nothing stored
    shown = as_read(texts(at.error))
    assert on_file in shown and "already on file" in shown
    form = _instance(at, "add_patient")
    assert at.text_input(key=f"{form.key('add')}_name").value == typed  # kept
    assert at.number_input(key=f"{form.key('add')}_age").value == 51
    boxes = [c for c in at.checkbox if on_file in as_read(c.label)]
    assert len(boxes) == 1 and boxes[0].value is False
    boxes[0].check()
    _submit(at, form.key("add_patient"), "Add patient")
    assert n_patients(workspace) == before + 1
    assert "Saved KAP-" in texts(at.success)


def test_two_tabs_typing_one_new_person_store_one(open_page: Callable[[str], AppTest],
                                                  workspace: Workspace) -> None:
    first_tab, second_tab = open_page("data_entry"), open_page("data_entry")
    before = n_patients(workspace)
    _add(first_tab, "Lindqvist, Maren")
    saved = texts(first_tab.success)
    assert "Saved KAP-" in saved
    new_id = saved.split("Saved ")[1].split(".")[0]
    _add(second_tab, "Maren Lindqvist")
    assert new_id in as_read(texts(second_tab.error))
    assert n_patients(workspace) == before + 1
