"""models.contract.validation: one test per class of bad input, all built from the schema
defaults."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models.contract import schema
from models.contract.csv_input import read_csv_strict
from models.contract.validation import (
    InputValidationError,
    RowError,
    validate_patients,
    validate_sessions,
)

EXPECTED_DTYPE = {"int": "int64", "float": "float64", "bool": "bool", "category": "object"}


def patient_rows(n: int = 3) -> list[dict[str, object]]:
    return [{"patient_id": f"KAP-{i:05d}", "name": f"Test {i}", **schema.defaults()}
            for i in range(1, n + 1)]


def session_rows(n: int = 3) -> list[dict[str, object]]:
    """Mid-range values for every session field, so each row is valid."""
    rows = []
    for i in range(1, n + 1):
        row: dict[str, object] = {}
        for f in schema.SESSION_FIELDS:
            if f.dtype == "category":
                row[f.name] = f.categories[0] if f.categories else "KAP-00001"
            elif f.dtype == "bool":
                row[f.name] = False
            else:
                mid = (f.min + f.max) / 2
                row[f.name] = int(mid) if f.dtype == "int" else mid
        row["session_number"] = i
        row["esketamine_dose_mg"] = None  # route iv: dosed in mg/kg only (HAZ-240)
        rows.append(row)
    return rows


def write(tmp_path: Path, rows: list[dict[str, object]], name: str = "patients.csv") -> Path:
    """Write rows as the generator does (bools as true/false)."""
    frame = pd.DataFrame(rows).map(lambda v: str(v).lower() if isinstance(v, bool) else v)
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def errors_of(call, *args, **kwargs) -> list[RowError]:
    with pytest.raises(InputValidationError) as info:
        call(*args, **kwargs)
    return info.value.errors


def where(errors: list[RowError]) -> set[tuple[int | None, str | None]]:
    return {(e.row, e.column) for e in errors}


def test_valid_file_round_trip(tmp_path: Path) -> None:
    rows = patient_rows(3)
    rows[1]["extra_note"] = "kept"
    out = validate_patients(read_csv_strict(write(tmp_path, rows)))
    assert list(out.columns) == list(pd.DataFrame(rows).columns)
    for f in schema.FEATURES:
        assert str(out[f.name].dtype) == EXPECTED_DTYPE[f.dtype], f.name
        if f.default is None:  # an empty nullable input (the other route's dose unit)
            assert pd.isna(out[f.name].iloc[0]), f.name
        else:
            assert out[f.name].iloc[0] == f.default, f.name
    assert out["extra_note"].tolist() == ["", "kept", ""]
    assert out["patient_id"].tolist() == ["KAP-00001", "KAP-00002", "KAP-00003"]


def test_typed_in_memory_frame_from_a_form_validates() -> None:
    frame = pd.DataFrame(patient_rows(1), index=["form"])
    out = validate_patients(frame)
    assert out.index.tolist() == ["form"]
    assert out["dx_trd"].dtype == bool and bool(out.loc["form", "dx_trd"])
    assert out.loc["form", "age"] == schema.feature("age").default


def test_missing_column(tmp_path: Path) -> None:
    frame = pd.DataFrame(patient_rows(2)).drop(columns=["bmi", "patient_id"])
    errors = errors_of(validate_patients, frame)
    assert where(errors) == {(None, "bmi"), (None, "patient_id")}
    assert all("missing" in e.message for e in errors)


def test_wrong_type() -> None:
    rows = patient_rows(2)
    rows[0]["age"] = "abc"
    rows[1]["failed_ad_trials"] = "2.5"
    errors = errors_of(validate_patients, pd.DataFrame(rows))
    assert where(errors) == {(2, "age"), (3, "failed_ad_trials")}
    assert "'abc' is not a number" in errors[0].message
    assert "'2.5' is not a whole number" in errors[1].message


def test_out_of_range_message_uses_schema_wording() -> None:
    rows = patient_rows(5)
    rows[3]["age"] = 140
    [error] = errors_of(validate_patients, pd.DataFrame(rows))
    assert (error.row, error.column) == (5, "age")
    assert error.message == (
        f"140 is outside the allowed range ({schema.feature('age').allowed_text()})")


def _outside_route_limits(route: str) -> float:
    """A dose inside the global feature range but outside this route's limits."""
    dose = schema.feature("dose_mg_per_kg")
    low, high = schema.ROUTE_DOSE_LIMITS[route]
    return round(low - 0.05, 2) if low - 0.05 >= dose.min else round(high + 0.05, 2)


@pytest.mark.parametrize("route", list(schema.ROUTE_DOSE_LIMITS))  # ketamine routes (mg/kg)
def test_route_specific_dose_limit(route: str) -> None:
    low, high = schema.ROUTE_DOSE_LIMITS[route]
    rows = patient_rows(3)
    for row, dose in zip(rows, (low, high, _outside_route_limits(route)), strict=True):
        row.update(route=route, dose_mg_per_kg=dose)
    [error] = errors_of(validate_patients, pd.DataFrame(rows))
    assert (error.row, error.column) == (4, "dose_mg_per_kg")
    assert route in error.message and f"{low:g} to {high:g}" in error.message


def test_unknown_category_lists_allowed_values_and_case_is_normalised() -> None:
    rows = patient_rows(2)
    rows[0]["sex"] = "other"
    rows[1]["sex"] = "Male"
    [error] = errors_of(validate_patients, pd.DataFrame(rows))
    assert (error.row, error.column) == (2, "sex")
    assert schema.feature("sex").allowed_text() in error.message
    rows[0]["sex"] = "FEMALE"
    assert validate_patients(pd.DataFrame(rows))["sex"].tolist() == ["female", "male"]


@pytest.mark.parametrize("text, expected", [
    ("true", True), ("TRUE", True), ("1", True), ("Yes", True),
    ("false", False), ("0", False), ("no", False), ("NO", False),
])
def test_bool_spellings(text: str, expected: bool) -> None:
    rows = patient_rows(1)
    rows[0]["prior_ect"] = text
    assert validate_patients(pd.DataFrame(rows))["prior_ect"].iloc[0] is np.bool_(expected)


def test_bad_bool_and_empty_cells() -> None:
    rows = patient_rows(2)
    rows[0]["prior_ect"] = "maybe"
    rows[1]["bmi"] = ""
    rows[1]["patient_id"] = "  "
    errors = errors_of(validate_patients, pd.DataFrame(rows))
    assert where(errors) == {(2, "prior_ect"), (3, "bmi"), (3, "patient_id")}
    assert all("missing value" in e.message for e in errors if e.row == 3)


def test_duplicate_patient_id_names_every_row() -> None:
    rows = patient_rows(4)
    rows[0]["patient_id"] = rows[2]["patient_id"] = "KAP-DUP"
    errors = errors_of(validate_patients, pd.DataFrame(rows))
    assert where(errors) == {(2, "patient_id"), (4, "patient_id")}
    assert all("rows 2, 4" in e.message for e in errors)


def test_diastolic_must_be_below_systolic() -> None:
    rows = patient_rows(1)
    rows[0].update(systolic_bp=110, diastolic_bp=110)
    [error] = errors_of(validate_patients, pd.DataFrame(rows))
    assert (error.row, error.column) == (2, "diastolic_bp")


def test_require_outcomes() -> None:
    rows = patient_rows(2)
    errors = errors_of(validate_patients, pd.DataFrame(rows), require_outcomes=True)
    assert where(errors) == {(None, name) for name in schema.outcome_names()}
    for row in rows:
        row.update({name: 0 for name in schema.outcome_names()})
    rows[1]["response"] = 2
    [error] = errors_of(validate_patients, pd.DataFrame(rows), require_outcomes=True)
    assert (error.row, error.column) == (3, "response")
    rows[1]["response"] = "1"
    out = validate_patients(pd.DataFrame(rows), require_outcomes=True)
    assert out["response"].tolist() == [0, 1] and str(out["response"].dtype) == "int64"


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "patients.csv"
    path.write_bytes(b"")
    [error] = errors_of(read_csv_strict, path)
    assert "empty" in error.message


def test_header_only_file(tmp_path: Path) -> None:
    path = tmp_path / "patients.csv"
    path.write_text(",".join(["patient_id", *schema.feature_names()]) + "\n\n")
    [error] = errors_of(read_csv_strict, path)
    assert "no data rows" in error.message


def test_missing_file(tmp_path: Path) -> None:
    [error] = errors_of(read_csv_strict, tmp_path / "nope.csv")
    assert "not found" in error.message


def test_non_utf8_file_reports_offset_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, patient_rows(2))
    data = path.read_bytes()
    second_line_start = data.index(b"\n") + 1
    bad = data.replace(b"Test 2", "Tést 2".encode("latin-1"))
    path.write_bytes(bad)
    [error] = errors_of(read_csv_strict, path)
    offset = bad.index(b"\xe9")
    assert f"byte offset {offset}" in error.message and "UTF-8 is required" in error.message
    assert error.row == 3 and offset > second_line_start


def test_unparseable_and_ragged_csv(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text('patient_id,age\nA,"4"2\n')
    [error] = errors_of(read_csv_strict, path)
    assert error.row == 2 and "cannot parse CSV" in error.message
    path.write_text("patient_id,age\nA,40\nB,41,extra\nC\n")
    errors = errors_of(read_csv_strict, path)
    assert [e.row for e in errors] == [3, 4]


def test_line_numbers_survive_blank_lines(tmp_path: Path) -> None:
    path = write(tmp_path, patient_rows(2))
    lines = path.read_text().splitlines()
    lines[2] = lines[2].replace(",42,", ",140,", 1)  # age is the column after name
    path.write_text("\n".join([lines[0], lines[1], "", lines[2]]) + "\n")
    [error] = errors_of(validate_patients, read_csv_strict(path))
    assert (error.row, error.column) == (4, "age")


def test_multiple_errors_reported_at_once(tmp_path: Path) -> None:
    rows = patient_rows(6)
    rows[3]["age"] = 140
    rows[1]["sex"] = "x"
    rows[4]["route"] = "rectal"
    rows[5]["benzo_dose_mg"] = "lots"
    frame = pd.DataFrame(rows).drop(columns=["ace_score"])
    path = write(tmp_path, frame.to_dict("records"))
    with pytest.raises(InputValidationError) as info:
        validate_patients(read_csv_strict(path))
    exc = info.value
    assert where(exc.errors) == {(None, "ace_score"), (3, "sex"), (5, "age"), (6, "route"),
                                 (7, "benzo_dose_mg")}
    report = str(exc).splitlines()
    assert report[0] == "patients.csv: 5 problems found:" and len(report) == 6
    assert exc.summary().startswith("patients.csv: 5 problems; first: column 'ace_score'")


def test_summary_names_first_row_problem() -> None:
    rows = patient_rows(5)
    rows[3]["age"] = 140
    with pytest.raises(InputValidationError) as info:
        validate_patients(pd.DataFrame(rows), source="patients.csv")
    assert info.value.summary() == (
        "patients.csv: 1 problem; first: row 5, column 'age': 140 is outside the allowed "
        "range (an integer from 18 to 90 years)")


def test_valid_sessions_round_trip_with_nullable_field(tmp_path: Path) -> None:
    rows = session_rows(3)
    rows[0]["pcl5"] = ""
    out = validate_sessions(read_csv_strict(write(tmp_path, rows, "sessions.csv")),
                            known_patient_ids=["KAP-00001"])
    assert np.isnan(out["pcl5"].iloc[0]) and out["pcl5"].iloc[1] == rows[1]["pcl5"]
    assert str(out["session_number"].dtype) == "int64"
    assert out["nausea"].dtype == bool


def test_session_errors() -> None:
    rows = session_rows(4)
    rows[1]["session_number"] = 1                      # duplicate of row 2
    rows[2]["patient_id"] = "KAP-99999"                # unknown patient
    rows[3].update(sbp_post=120, dbp_post=125)         # diastolic above systolic
    rows[3]["phq9"] = ""                               # required field empty
    errors = errors_of(validate_sessions, pd.DataFrame(rows), known_patient_ids={"KAP-00001"})
    assert where(errors) == {(2, "session_number"), (3, "session_number"), (4, "patient_id"),
                             (5, "dbp_post"), (5, "phq9")}
