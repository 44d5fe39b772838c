"""CSV exports neutralise spreadsheet formulas in text cells (one helper for every export)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from base.safety import csv_rows_text, csv_text, escape_cell
from base.settings import DATA_SAMPLES_DIR
from kapcds import commands


@pytest.mark.parametrize("value, expected", [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
    ("Jane Doe", "Jane Doe"), ("KAP-00001", "KAP-00001"), ("", ""), (" =1", " =1"),
    (-1, -1), (2.5, 2.5), (None, None)])
def test_escape_cell(value: Any, expected: Any) -> None:
    assert escape_cell(value) == expected


def test_text_columns_are_escaped_and_numbers_are_not() -> None:
    frame = pd.DataFrame({"name": ["=cmd|' /C calc'!A0", "Ann"], "delta": [-1.5, 2.0],
                          "n": [-3, 4], "label": pd.Categorical(["-x", "y"])})
    rows = list(csv.DictReader(io.StringIO(csv_text(frame))))
    assert rows[0] == {"name": "'=cmd|' /C calc'!A0", "delta": "-1.5", "n": "-3", "label": "'-x"}
    assert rows[1] == {"name": "Ann", "delta": "2.0", "n": "4", "label": "y"}
    assert frame.loc[0, "name"].startswith("=")  # the caller's frame is untouched


def test_row_writer_escapes_too() -> None:
    text = csv_rows_text(["a", "b"], [{"a": "@x", "b": 1}, {"a": "ok", "b": -2}])
    assert text.splitlines() == ["a,b", "'@x,1", "ok,-2"]


def test_predict_output_escapes_text_columns(tmp_path: Path, cli: Callable[..., Any],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """`kapcds predict` writes through the same helper (model replaced by a stub)."""
    patients = pd.read_csv(DATA_SAMPLES_DIR / "patients.csv", dtype=str,
                           keep_default_na=False).head(2)
    source = tmp_path / "in.csv"
    patients.to_csv(source, index=False)

    def fake_predict(_model_set: Any, frame: pd.DataFrame, explain: bool = False) -> Any:
        # A formula id cannot get in any more (the patient id rule), but the output is
        # escaped whatever the stub puts there.
        return pd.DataFrame({"patient_id": ['=HYPERLINK("http://evil","x")', "KAP-00002"],
                             "response_probability": [0.4, -0.0],
                             "ood_features": ["-bmi", ""]})

    # the stub card lets response pass the quality gate, so its number is written
    card = {"metrics": {"response": {"auc": {"value": 0.8, "lo": 0.7, "hi": 0.9}}}}
    monkeypatch.setattr(commands, "load_model", lambda args: (None, card))
    monkeypatch.setattr("models.inference.predict.predict_frame", fake_predict)
    out = tmp_path / "out.csv"
    result = cli("predict", "--input", str(source), "--output", str(out))
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert rows[0]["patient_id"] == '\'=HYPERLINK("http://evil","x")'
    assert rows[0]["ood_features"] == "'-bmi" and rows[0]["response_probability"] == "0.4"
