"""Data entry: the schema-built form starts empty (nothing assumed, issue 12), adds and edits
patients, refuses empty and bad values next to the field, refuses a stale edit, and imports
CSV files all-or-nothing."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest
from apptest_helpers import as_read, n_patients, texts
from streamlit.testing.v1 import AppTest

from base.settings import DATA_SAMPLES_DIR
from dashboard.services.workspace import Workspace
from models.contract.doses import dose_feature_for, dose_fields
from models.contract.schema import DOSE_FEATURES, FEATURES, defaults
from records.db import session_factory
from records.repository import get_patient, update_patient

ADD = "FormSubmitter:add_patient-Add patient"


def _enter_patient(at: AppTest, values: dict[str, Any], skip: tuple[str, ...] = ()) -> None:
    """Enter every schema feature on the Add patient form (but ``skip``), as a clinician,
    without a run in between (a form sends everything at once): the route is a field like
    any other and the dose is one number in the route's unit (``add_dose``)."""
    for spec in FEATURES:
        if spec.name in skip or spec.name == "esketamine_dose_mg":
            continue
        key, value = f"add_{spec.name}", values[spec.name]
        if spec.name == "dose_mg_per_kg":
            at.number_input(key="add_dose").set_value(values[dose_feature_for(values["route"])])
        elif spec.dtype == "bool":
            at.radio(key=key).set_value(bool(value))
        elif spec.dtype == "category":
            at.selectbox(key=key).set_value(value)
        else:
            at.number_input(key=key).set_value(value)


def _stored(workspace: Workspace, at: AppTest) -> dict[str, Any]:
    new_id = re.search(r"Patient (\S+) added", texts(at.success)).group(1)  # type: ignore
    with session_factory(workspace.engine)() as session:
        return get_patient(session, new_id).features()  # type: ignore[union-attr]


def test_add_patient_starts_empty(open_page: Callable[[str], AppTest]) -> None:
    at = open_page("data_entry")
    assert at.text_input(key="add_name").value == ""
    for spec in FEATURES:
        if spec.name in DOSE_FEATURES:  # one Dose field, its unit follows the route
            continue
        kind = {"bool": at.radio, "category": at.selectbox}.get(spec.dtype, at.number_input)
        assert kind(key=f"add_{spec.name}").value is None, spec.name
    dose = at.number_input(key="add_dose")
    assert dose.value is None and "mg/kg for ketamine" in dose.label and "28, 56 or 84" in \
        dose.label


@pytest.mark.parametrize("route, dose", [("intranasal_esketamine", 56.0), ("im", 0.6)])
def test_everything_typed_before_and_after_the_route_is_stored(
        open_page: Callable[[str], AppTest], workspace: Workspace, route: str,
        dose: float) -> None:
    """HAZ-240 and issue 30: the route is inside the form, so choosing it reruns nothing and
    loses nothing: name, every value, then the route, then the dose, one submit; the dose
    is stored in the route's unit (esketamine in mg without mg/kg) and every value as typed."""
    at = open_page("data_entry")
    at.text_input(key="add_name").set_value(f"Esme {route.split('_')[0].title()} Testcase")
    entered = {**defaults(), "age": 47, "phq9_baseline": 19, "pregnant": False,
               **dose_fields(route, dose), "route": route}
    _enter_patient(at, entered, skip=("route",))
    at.selectbox(key="add_route").set_value(route)
    at.form_submit_button(key=ADD).click().run()
    assert not at.exception and "added" in texts(at.success), texts(at.error)
    assert _stored(workspace, at) == entered
    unit = "esketamine_dose_mg" if route == "intranasal_esketamine" else "dose_mg_per_kg"
    assert {n: entered[n] for n in DOSE_FEATURES} == {n: (dose if n == unit else None)
                                                      for n in DOSE_FEATURES}


@pytest.mark.parametrize("route, dose, message", [
    ("intranasal_esketamine", 0.5, "0.5 is not an esketamine dose: intranasal esketamine is "
     "dosed in mg (28, 56 or 84 mg per session), never per kg"),
    ("intranasal_esketamine", 60.0, "60 mg is not an esketamine dose; allowed 28, 56 or 84 mg "
     "per session"),
    ("iv", 56.0, "56 is not a dose of intravenous ketamine: ketamine is dosed in mg/kg (0.2 "
     "to 1 mg/kg)")])
def test_a_dose_in_the_other_unit_is_refused_by_name(
        open_page: Callable[[str], AppTest], workspace: Workspace, route: str, dose: float,
        message: str) -> None:
    """The ranges do not overlap (mg/kg at most 3, esketamine at least 28 mg): a value is
    never reinterpreted; the message names the route's unit and its allowed doses, once,
    under the Dose field; every other typed value stays in the form."""
    at = open_page("data_entry")
    before = n_patients(workspace)
    at.text_input(key="add_name").set_value(f"Una {route.split('_')[0].title()} Testcase")
    _enter_patient(at, {**defaults(), "route": route, **dose_fields(route, dose)})
    at.form_submit_button(key=ADD).click().run()
    errors = [as_read(e.value) for e in at.error]
    assert sum(message in e for e in errors) == 1, errors
    assert not any("outside the allowed range" in e for e in errors), errors
    assert n_patients(workspace) == before
    assert at.number_input(key="add_dose").value == dose
    assert at.text_input(key="add_name").value.startswith("Una ")
    assert at.selectbox(key="add_route").value == route


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
    # one per empty feature (the dose follows the route, whose own error stands for both),
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
