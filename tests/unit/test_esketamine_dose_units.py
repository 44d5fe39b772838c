"""Esketamine in mg, ketamine in mg/kg (issue 30 item 5, HAZ-240): every entry path refuses
a dose in the wrong unit with the row, the field and what is allowed; nothing converts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.clinical.followup_record import validate_followup_rows
from models.contract import schema
from models.contract.doses import (
    complete_doses,
    dose_contributions,
    dose_fields,
    dose_problems,
    dose_text,
    model_doses,
    relative_doses,
)
from models.contract.features import to_model_frame
from models.contract.validation import InputValidationError, validate_patients, validate_sessions

ESK = "intranasal_esketamine"


def _patients(*changes: dict) -> pd.DataFrame:
    return pd.DataFrame([{"patient_id": f"KAP-{i + 1:05d}", **schema.defaults(), **c}
                         for i, c in enumerate(changes)])


def _errors(call, frame: pd.DataFrame, **kw) -> list:
    with pytest.raises(InputValidationError) as caught:
        call(frame, **kw)
    return caught.value.errors


def test_an_esketamine_dose_per_kg_is_refused_naming_row_field_and_the_mg_steps() -> None:
    frame = _patients({}, {"route": ESK, "dose_mg_per_kg": 1.0, "esketamine_dose_mg": None})
    errors = {(e.row, e.column): e.message for e in _errors(validate_patients, frame)}
    assert errors[(3, "dose_mg_per_kg")].startswith(
        "intranasal esketamine is dosed in mg (28, 56 or 84 mg), not mg/kg")
    assert "needs its dose in mg (28, 56 or 84 mg per session)" in errors[
        (3, "esketamine_dose_mg")]
    assert all(row == 3 for row, _ in errors)  # the ketamine row (line 2) is fine


def test_esketamine_in_mg_is_accepted_and_read_back_without_mg_per_kg() -> None:
    out = validate_patients(_patients({"route": ESK, "dose_mg_per_kg": None,
                                       "esketamine_dose_mg": 84}))
    assert out["esketamine_dose_mg"].iloc[0] == 84 and np.isnan(out["dose_mg_per_kg"].iloc[0])


@pytest.mark.parametrize(("mg", "allowed"), [(42, "28, 56 or 84 mg"), (70, "28, 56 or 84 mg"),
                                             (112, "from 28 to 84 mg")])
def test_esketamine_off_the_device_steps_is_refused(mg: int, allowed: str) -> None:
    frame = _patients({"route": ESK, "dose_mg_per_kg": None, "esketamine_dose_mg": mg})
    [error] = _errors(validate_patients, frame)
    assert error.column == "esketamine_dose_mg" and allowed in error.message


def test_a_ketamine_row_with_an_esketamine_dose_is_refused() -> None:
    frame = _patients({"route": "iv", "dose_mg_per_kg": 0.5, "esketamine_dose_mg": 56})
    [error] = _errors(validate_patients, frame)
    assert (error.row, error.column) == (2, "esketamine_dose_mg")
    assert "dosed in mg/kg" in error.message


def test_an_older_file_without_the_mg_column_reads_ketamine_and_refuses_esketamine() -> None:
    old = _patients({}, {"route": ESK, "dose_mg_per_kg": 1.0}).drop(
        columns="esketamine_dose_mg")
    errors = _errors(validate_patients, old)
    assert {(e.row, e.column) for e in errors} == {(3, "dose_mg_per_kg"),
                                                  (3, "esketamine_dose_mg")}
    assert validate_patients(old.iloc[:1]).shape[0] == 1  # the ketamine row alone is fine


def test_a_session_in_the_wrong_unit_is_refused_and_one_in_mg_accepted() -> None:
    base = {"patient_id": "KAP-00001", "session_number": 1, "day": 0, "phq9": 15,
            "phq9_item9": 0, "gad7": 9, "pcl5": None, "cssrs": 0, "sbp_pre": 120,
            "dbp_pre": 80, "hr_pre": 70, "sbp_post": 130, "dbp_post": 85, "hr_post": 75,
            "cadss": 5, "nausea": False, "vomiting": False, "headache": False,
            "dizziness": False, "sedation": False, "minutes_to_discharge": 120,
            "dropout_after": False}
    bad = pd.DataFrame([{**base, "route": ESK, "dose_mg_per_kg": 1.0,
                         "esketamine_dose_mg": None}])
    assert {e.column for e in _errors(validate_sessions, bad)} == {"dose_mg_per_kg",
                                                                  "esketamine_dose_mg"}
    good = pd.DataFrame([{**base, "route": ESK, "dose_mg_per_kg": None,
                          "esketamine_dose_mg": 56}])
    assert validate_sessions(good)["esketamine_dose_mg"].iloc[0] == 56


def test_a_maintenance_dose_of_esketamine_in_mg_per_kg_is_refused_in_a_followup_file() -> None:
    rows = pd.DataFrame([
        {"patient_id": "KAP-00001", "kind": "maintenance", "day_after_series": 7,
         "route": ESK, "dose_mg_per_kg": 1.0},
        {"patient_id": "KAP-00001", "kind": "maintenance", "day_after_series": 14,
         "route": ESK, "esketamine_dose_mg": 56},
        {"patient_id": "KAP-00002", "kind": "maintenance", "day_after_series": 7,
         "route": "im", "dose_mg_per_kg": 0.6}])
    errors = _errors(validate_followup_rows, rows)
    assert {(e.row, e.column) for e in errors} == {(2, "dose_mg_per_kg"),
                                                  (2, "esketamine_dose_mg")}
    assert any("not mg/kg" in e.message for e in errors)


def test_dose_text_and_fields_keep_the_unit_of_the_route() -> None:
    assert dose_text(ESK, None, 84.0) == "84 mg"
    assert dose_text("iv", 0.5, None) == "0.50 mg/kg"
    assert dose_text(ESK, 1.0, None) == "—"  # a per-kg value is never shown for esketamine
    assert dose_fields(ESK, 56) == {"dose_mg_per_kg": None, "esketamine_dose_mg": 56.0}
    assert complete_doses({"route": ESK, "dose_mg_per_kg": 0.5, "esketamine_dose_mg": 56})[
        "dose_mg_per_kg"] is None
    assert dose_problems("oral_sublingual", 1.5, None) == []


def test_the_models_read_one_dose_from_the_routes_own_column() -> None:
    """Esketamine mg / 56 (84 mg = 1.5), ketamine mg/kg as recorded; the other unit's column
    is never read (a stray value in it changes nothing). The generator's relative dose
    divides ketamine by the route's typical dose as well."""
    routes = ["iv", ESK, ESK, "im", "oral_sublingual", ESK, "nope"]
    per_kg = [0.75, 9.0, None, 0.6, 1.5, None, 0.5]
    mg = [None, 84.0, 28.0, 56.0, None, None, None]
    np.testing.assert_allclose(model_doses(routes, per_kg, mg),
                               [0.75, 1.5, 0.5, 0.6, 1.5, np.nan, np.nan])
    np.testing.assert_allclose(relative_doses(routes, per_kg, mg),
                               [1.5, 1.5, 0.5, 1.0, 1.0, np.nan, np.nan])
    frame = to_model_frame(_patients({"route": ESK, "dose_mg_per_kg": None,
                                      "esketamine_dose_mg": 84.0}, {"dose_mg_per_kg": 0.5}))
    assert list(frame.columns) == schema.model_columns()
    assert not set(schema.DOSE_FEATURES) & set(frame.columns)
    np.testing.assert_allclose(frame[schema.MODEL_DOSE], [1.5, 0.5])


def test_a_dose_column_no_row_needs_may_be_absent_but_a_needed_one_may_not() -> None:
    ketamine = _patients({"dose_mg_per_kg": 0.5}).drop(columns=["esketamine_dose_mg"])
    assert to_model_frame(ketamine)[schema.MODEL_DOSE].tolist() == [0.5]
    esketamine = _patients({"route": ESK, "esketamine_dose_mg": 56.0}).drop(
        columns=["esketamine_dose_mg"])
    with pytest.raises(KeyError, match="esketamine_dose_mg"):
        to_model_frame(esketamine)


def test_the_model_dose_share_goes_to_the_recorded_dose_and_keeps_sums() -> None:
    columns = ["age", schema.MODEL_DOSE, "bmi"]
    shap = np.array([[0.1, 0.3, -0.05], [0.2, 0.1, 0.02]])
    out, names = dose_contributions(shap, columns, np.array([ESK, "iv"], dtype=object))
    assert names == ["age", "dose_mg_per_kg", "esketamine_dose_mg", "bmi"]
    np.testing.assert_allclose(out.sum(axis=1), shap.sum(axis=1))
    np.testing.assert_allclose(out, [[0.1, 0.0, 0.3, -0.05], [0.2, 0.1, 0.0, 0.02]])
