"""The fast CSV path (pyarrow, issue 31.2) gives the csv-module path's frames, types, line
numbers and row/field errors; files it cannot read the same way go the csv-module way."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from models.contract import csv_input
from models.contract.csv_input import line_numbers, read_csv_strict
from models.contract.validation import validate_patients, validate_sessions
from tests.unit.test_validation import errors_of, patient_rows, session_rows, write


def slow_read(path: Path) -> pd.DataFrame:
    """The csv-module path alone (the fast path switched off)."""
    original = csv_input._plain_frame
    csv_input._plain_frame = lambda *args, **kwargs: None
    try:
        return read_csv_strict(path)
    finally:
        csv_input._plain_frame = original


def fast_taken(path: Path) -> bool:
    data = path.read_bytes()
    return csv_input._plain_frame(data, data.decode("utf-8-sig"), path.name) is not None


@pytest.mark.parametrize("arrow", [False, True])
def test_plain_file_reads_and_validates_as_before(tmp_path: Path, arrow: bool) -> None:
    rows = patient_rows(4)
    rows[1]["name"] = 'Doe, "Jo" Ann'  # a quoted field with a comma and doubled quotes
    rows[2]["sex"] = " " + str(rows[2]["sex"]).upper() + " "  # case and spaces normalised
    path = write(tmp_path, rows)
    assert fast_taken(path)
    fast = read_csv_strict(path, arrow=arrow)
    slow = slow_read(path)
    if not arrow:
        pd.testing.assert_frame_equal(fast, slow, check_exact=True)
    assert list(line_numbers(fast)) == list(line_numbers(slow)) == [2, 3, 4, 5]
    typed = validate_patients(fast)
    pd.testing.assert_frame_equal(typed, validate_patients(slow), check_exact=True)
    assert typed.loc[1, "name"] == 'Doe, "Jo" Ann'
    assert all(not isinstance(t, pd.ArrowDtype) for t in typed.dtypes)


def test_sessions_with_empty_nullable_cells_type_as_before(tmp_path: Path) -> None:
    rows = session_rows(3)
    nullable = next(c for c in rows[0] if c == "pcl5")
    rows[1][nullable] = ""
    path = write(tmp_path, rows, "sessions.csv")
    fast = validate_sessions(read_csv_strict(path, arrow=True), known_patient_ids=["KAP-00001"])
    slow = validate_sessions(slow_read(path), known_patient_ids=["KAP-00001"])
    pd.testing.assert_frame_equal(fast, slow, check_exact=True)
    assert fast[nullable].isna().tolist() == [False, True, False]


def test_bad_cells_give_the_same_row_and_field_errors(tmp_path: Path) -> None:
    rows = patient_rows(5)
    rows[0]["age"] = "forty"          # not a number (pyarrow refuses: the usual path)
    rows[1]["age"] = 140               # out of range
    rows[2]["phq9_baseline"] = 10.5    # not a whole number
    rows[3]["sex"] = "unknown"         # not an allowed category
    rows[4]["prior_ect"] = "maybe"     # not yes/no
    path = write(tmp_path, rows)
    assert fast_taken(path)
    fast = errors_of(validate_patients, read_csv_strict(path, arrow=True))
    slow = errors_of(validate_patients, slow_read(path))
    assert [(e.row, e.column, e.message) for e in fast] == [
        (e.row, e.column, e.message) for e in slow]
    assert {(e.row, e.column) for e in fast} >= {(2, "age"), (3, "age"), (4, "phq9_baseline"),
                                                 (5, "sex"), (6, "prior_ect")}


def test_range_error_alone_names_the_cell_text(tmp_path: Path) -> None:
    """Only pyarrow parsed the column: the message still quotes the cell as written."""
    rows = patient_rows(3)
    rows[2]["age"] = " 140 "
    path = write(tmp_path, rows)
    [error] = errors_of(validate_patients, read_csv_strict(path, arrow=True))
    assert (error.row, error.column) == (4, "age") and error.message.startswith("140 is ")


@pytest.mark.parametrize("change", ["blank line", "empty cells line", "line break in quotes",
                                    "stray quote", "ragged line", "bare carriage return"])
def test_files_the_fast_path_would_misread_go_the_csv_module_way(tmp_path: Path,
                                                                  change: str) -> None:
    path = write(tmp_path, patient_rows(3))
    lines = path.read_text().splitlines()
    header, first, second, third = lines
    fields = len(header.split(","))
    body = {
        "blank line": [first, "", second, third],
        "empty cells line": [first, "," * (fields - 1), second, third],
        "line break in quotes": [first.replace("Test 1", '"Test\n1"'), second, third],
        "stray quote": [first.replace("Test 1", 'Te"st 1'), second, third],
        "ragged line": [first, second + ",extra", third],
        "bare carriage return": [first + "\r" + second, third],
    }[change]
    path.write_text("\n".join([header, *body]) + "\n", newline="")
    assert not fast_taken(path)
    try:
        slow = slow_read(path)
    except Exception as exc:  # the file's own error, named as before
        with pytest.raises(type(exc)):
            read_csv_strict(path, arrow=True)
        return
    fast = read_csv_strict(path, arrow=True)
    pd.testing.assert_frame_equal(fast, slow, check_exact=True)
    assert list(line_numbers(fast)) == list(line_numbers(slow))


@pytest.mark.parametrize("what", ["patients", "sessions"])
def test_dose_units_give_the_same_row_and_field_errors_on_both_readers(tmp_path: Path,
                                                                       what: str) -> None:
    """HAZ-240 rules (models.contract.dose_rows) on typed cells: the same messages, rows and
    fields whether pyarrow or the csv module read the file, a file without the mg column
    included."""
    esk = "intranasal_esketamine"
    rows = patient_rows(7) if what == "patients" else session_rows(7)
    changes = [{"route": esk, "dose_mg_per_kg": "", "esketamine_dose_mg": 0.5},  # per kg
               {"route": esk, "dose_mg_per_kg": 1.0, "esketamine_dose_mg": ""},  # wrong column
               {"route": esk, "dose_mg_per_kg": "", "esketamine_dose_mg": 60},   # off the steps
               {"route": "iv", "dose_mg_per_kg": 56, "esketamine_dose_mg": ""},  # mg as mg/kg
               {"route": "iv", "dose_mg_per_kg": 0.5, "esketamine_dose_mg": 56},  # both
               {"route": esk, "dose_mg_per_kg": "", "esketamine_dose_mg": 84},   # fine
               {"route": "im", "dose_mg_per_kg": "", "esketamine_dose_mg": ""}]  # none
    for row, change in zip(rows, changes, strict=True):
        row.update(change)
    path = write(tmp_path, rows, f"{what}.csv")
    call = validate_patients if what == "patients" else validate_sessions
    assert fast_taken(path)
    fast = errors_of(call, read_csv_strict(path, arrow=True))
    slow = errors_of(call, slow_read(path))
    seen = [(e.row, e.column, e.message) for e in fast]
    assert seen == [(e.row, e.column, e.message) for e in slow]
    by_row = {row: [(c, m) for r, c, m in seen if r == row] for row in range(2, 9)}
    assert by_row[2] == [("esketamine_dose_mg", "0.5 is not an esketamine dose: intranasal "
                          "esketamine is dosed in mg (28, 56 or 84 mg per session), never "
                          "per kg")]
    assert [c for c, _ in by_row[3]] == ["dose_mg_per_kg", "esketamine_dose_mg"]
    assert by_row[4] == [("esketamine_dose_mg", "60 mg is not an esketamine dose; allowed "
                          "28, 56 or 84 mg per session")]
    assert by_row[5][0][0] == "dose_mg_per_kg" and by_row[5][0][1].startswith(
        "56 is not a dose of intravenous ketamine: ketamine is dosed in mg/kg")
    assert len(by_row[5]) == 1 and "outside the allowed range" not in by_row[5][0][1]
    assert by_row[6] == [("esketamine_dose_mg", next(m for c, m in by_row[6]))]
    assert by_row[7] == [] and [c for c, _ in by_row[8]] == ["dose_mg_per_kg"]
    older = pd.DataFrame(rows).drop(columns=["esketamine_dose_mg"])  # before the mg column
    old_path = write(tmp_path, older.to_dict("records"), f"old_{what}.csv")
    old_fast = errors_of(call, read_csv_strict(old_path, arrow=True))
    assert [(e.row, e.column, e.message) for e in old_fast] == [
        (e.row, e.column, e.message) for e in errors_of(call, slow_read(old_path))]
