"""Data entry: the schema-built form starts empty (nothing assumed, issue 12), adds and edits
patients, refuses empty and bad values next to the field, refuses a stale edit, and imports
CSV files all-or-nothing."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

import pandas as pd
from apptest_helpers import as_read, n_patients, texts
from streamlit.testing.v1 import AppTest

from base.settings import DATA_SAMPLES_DIR
from dashboard.services.workspace import Workspace
from models.contract.doses import not_applicable
from models.contract.schema import DOSE_FEATURES, FEATURES, defaults
from records.db import session_factory
from records.repository import get_patient, update_patient

ADD = "FormSubmitter:add_patient-Add patient"


def _enter_patient(at: AppTest, values: dict[str, Any], skip: tuple[str, ...] = ()) -> None:
    """Enter every schema feature on the Add patient form (but ``skip``), as a clinician:
    the route first (above the form), then the dose in that route's unit."""
    if "route" not in skip:
        at.selectbox(key="add_route").set_value(values["route"]).run()
    for spec in FEATURES:
        if spec.name in skip or spec.name == "route" or not_applicable(spec.name,
                                                                        values["route"]):
            continue
        key, value = f"add_{spec.name}", values[spec.name]
        if spec.dtype == "bool":
            at.radio(key=key).set_value(bool(value))
        elif spec.dtype == "category" or spec.name == "esketamine_dose_mg":
            at.selectbox(key=key).set_value(int(value) if spec.dtype == "float" else value)
        else:
            at.number_input(key=key).set_value(value)


def test_add_patient_starts_empty(open_page: Callable[[str], AppTest]) -> None:
    at = open_page("data_entry")
    assert at.text_input(key="add_name").value == ""
    for spec in FEATURES:
        if spec.name in DOSE_FEATURES:  # no dose field before a route is chosen (its unit)
            assert not [w for w in at.number_input if w.key == f"add_{spec.name}"]
            continue
        kind = {"bool": at.radio, "category": at.selectbox}.get(spec.dtype, at.number_input)
        assert kind(key=f"add_{spec.name}").value is None, spec.name
    assert "choose the route first" in texts(at.caption)


def test_esketamine_is_entered_in_mg_from_a_select_and_stored_without_mg_per_kg(
        open_page: Callable[[str], AppTest], workspace: Workspace) -> None:
    """HAZ-240: choosing intranasal esketamine turns the dose into a 28/56/84 mg choice;
    the stored patient has the mg and no mg/kg value."""
    at = open_page("data_entry")
    at.selectbox(key="add_route").set_value("intranasal_esketamine").run()
    dose = at.selectbox(key="add_esketamine_dose_mg")
    assert dose.options == ["28 mg", "56 mg", "84 mg"] and dose.value is None
    assert not [w for w in at.number_input if w.key == "add_dose_mg_per_kg"]
    entered = {**defaults(), "route": "intranasal_esketamine", "dose_mg_per_kg": None,
               "esketamine_dose_mg": 56.0}
    _enter_patient(at, entered)  # the route first: choosing it reruns the page
    at.text_input(key="add_name").set_value("Esme Testcase")
    at.form_submit_button(key=ADD).click().run()
    assert not at.exception and "added" in texts(at.success)
    new_id = re.search(r"Patient (\S+) added", texts(at.success)).group(1)  # type: ignore
    with session_factory(workspace.engine)() as session:
        stored = get_patient(session, new_id).features()  # type: ignore[union-attr]
    assert (stored["esketamine_dose_mg"], stored["dose_mg_per_kg"]) == (56.0, None)


def test_name_and_age_only_is_refused_next_to_each_empty_field(
        open_page: Callable[[str], AppTest], workspace: Workspace) -> None:
    at = open_page("data_entry")
    before = n_patients(workspace)
    at.text_input(key="add_name").set_value("Ada Testcase")
    at.number_input(key="add_age").set_value(51)
    at.form_submit_button(key=ADD).click().run()
    assert not at.exception
    errors = [as_read(e.value) for e in at.error]
    assert "Nothing was saved: correct the fields marked below." in errors
    assert "Required: enter an integer from 0 to 27 points." in errors  # PHQ-9
    assert "Required: choose one of the options." in errors  # sex
    assert "Required: answer yes or no." in errors  # e.g. pregnant
    # one per empty feature (no dose is asked before the route: its unit follows the route),
    # plus the summary
    assert len(errors) == len(FEATURES) - 1 - len(DOSE_FEATURES) + 1
    assert n_patients(workspace) == before


def test_add_patient(open_page: Callable[[str], AppTest], workspace: Workspace) -> None:
    at = open_page("data_entry")
    before = n_patients(workspace)
    entered = {**defaults(), "age": 51, "phq9_baseline": 21, "pregnant": False}
    _enter_patient(at, entered)
    at.text_input(key="add_name").set_value("Ada Testcase")
    at.form_submit_button(key=ADD).click().run()
    assert not at.exception
    assert "added" in texts(at.success)
    assert n_patients(workspace) == before + 1
    new_id = re.search(r"Patient (\S+) added", texts(at.success)).group(1)  # type: ignore
    with session_factory(workspace.engine)() as session:
        patient = get_patient(session, new_id)
        assert patient is not None
        assert patient.name == "Ada Testcase"
        assert patient.features() == entered  # what was entered, nothing else


def test_bad_values_are_shown_next_to_their_fields(open_page: Callable[[str], AppTest],
                                                   workspace: Workspace) -> None:
    at = open_page("data_entry")
    before = n_patients(workspace)
    _enter_patient(at, {**defaults(), "dose_mg_per_kg": 3.0, "diastolic_bp": 130})
    at.form_submit_button(key=ADD).click().run()
    errors = [as_read(e.value) for e in at.error]
    assert any("outside the limits for route iv" in e for e in errors)
    assert any("Diastolic 130 is not below systolic" in e for e in errors)
    assert any("Required: enter a name." in e for e in errors)
    assert n_patients(workspace) == before


def test_edit_saves_a_new_version(open_page: Callable[[str], AppTest],
                                  workspace: Workspace) -> None:
    pid = "KAP-00020"
    at = open_page("data_entry")
    at.selectbox(key="edit_patient").set_value(pid).run()
    version = _version(workspace, pid)
    at.number_input(key=f"edit_{pid}_{version}_bmi").set_value(31.5)
    at.form_submit_button(key=f"FormSubmitter:edit_form_{pid}-Save changes").click().run()
    assert f"Patient {pid} saved (version {version + 1})." in texts(at.success)
    assert _version(workspace, pid) == version + 1


def test_stale_edit_is_refused_with_a_clear_message(open_page: Callable[[str], AppTest],
                                                    workspace: Workspace) -> None:
    pid = "KAP-00021"
    at = open_page("data_entry")
    at.selectbox(key="edit_patient").set_value(pid).run()
    opened = _version(workspace, pid)
    with session_factory(workspace.engine)() as session:  # a colleague saves first
        update_patient(session, pid, {"ace_score": 7}, expected_version=opened)
        session.commit()
    at.number_input(key=f"edit_{pid}_{opened}_bmi").set_value(22.0)
    at.form_submit_button(key=f"FormSubmitter:edit_form_{pid}-Save changes").click().run()
    assert "someone else saved this patient first" in texts(at.error)
    with session_factory(workspace.engine)() as session:
        patient = get_patient(session, pid)
        assert patient is not None and patient.ace_score == 7 and patient.bmi != 22.0
    at.button(key=f"reload_{pid}").click().run()
    assert f"Editing version {opened + 1}" in texts(at.caption)


def _version(workspace: Workspace, pid: str) -> int:
    with session_factory(workspace.engine)() as session:
        patient = get_patient(session, pid)
        assert patient is not None
        return int(patient.version)


def _sample(rows: int, prefix: str) -> tuple[bytes, bytes]:
    patients = pd.read_csv(DATA_SAMPLES_DIR / "patients.csv", dtype=str).head(rows)
    sessions = pd.read_csv(DATA_SAMPLES_DIR / "sessions.csv", dtype=str)
    sessions = sessions[sessions["patient_id"].isin(patients["patient_id"])]
    new_ids = {old: f"{prefix}-{i:03d}" for i, old in enumerate(patients["patient_id"])}
    patients["patient_id"] = patients["patient_id"].map(new_ids)
    sessions = sessions.assign(patient_id=sessions["patient_id"].map(new_ids))
    return _csv(patients), _csv(sessions)


def _csv(frame: pd.DataFrame) -> bytes:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    return buffer.getvalue().encode("utf-8")


def test_csv_import_reports_every_bad_row_and_saves_nothing(
        open_page: Callable[[str], AppTest], workspace: Workspace) -> None:
    patients, sessions = _sample(4, "BAD")
    frame = pd.read_csv(io.BytesIO(patients), dtype=str)
    frame.loc[1, "age"] = "old"  # file row 3
    frame.loc[2, "diastolic_bp"] = "170"  # file row 4
    before = n_patients(workspace)
    at = open_page("data_entry")
    at.get("file_uploader")[0].set_value(("patients.csv", _csv(frame), "text/csv"))
    at.get("file_uploader")[1].set_value(("sessions.csv", sessions, "text/csv"))
    at.button(key="imp_go").click().run()
    assert "Nothing was imported" in texts(at.error)
    table = at.dataframe[-1].value
    assert {"file", "row", "column", "problem"} <= set(table.columns)
    assert {(3, "age"), (4, "diastolic_bp")} <= set(zip(table["row"], table["column"],
                                                        strict=True))
    assert n_patients(workspace) == before


def test_csv_import_commits_patients_and_sessions(open_page: Callable[[str], AppTest],
                                                   workspace: Workspace) -> None:
    patients, sessions = _sample(3, "IMP")
    n_rows = len(pd.read_csv(io.BytesIO(sessions)))
    before = n_patients(workspace)
    at = open_page("data_entry")
    at.get("file_uploader")[0].set_value(("patients.csv", patients, "text/csv"))
    at.get("file_uploader")[1].set_value(("sessions.csv", sessions, "text/csv"))
    at.button(key="imp_go").click().run()
    assert f"Imported 3 patients and {n_rows} sessions." in texts(at.success)
    assert n_patients(workspace) == before + 3
