"""De-identified and pseudonymised views: no names, no identifiers, shifted dates."""

from __future__ import annotations

import stat
from pathlib import Path

import pandas as pd
import pytest

from records.security import deidentify as deid
from records.security.policy import DEIDENTIFIED, IDENTIFIED, PSEUDONYMISED

KEY = b"test key"


def _frame() -> pd.DataFrame:
    frame = pd.DataFrame({
        "patient_id": ["KAP-00001", "KAP-00001", "KAP-00002"],
        "name": ["Ann Smith", "Ann Smith", "Bob Jones"],
        "age": [45, 45, 95], "phq9": [20, 15, 18],
        "notes": ["lives at 1 Main St", None, "call 555-0100"],
        "recorded_at": pd.to_datetime(["2026-01-01T10:00", "2026-01-08T10:00",
                                       "2026-02-01T09:00"], utc=True)})
    frame.index = frame["patient_id"]
    return frame


def test_pseudonyms_are_stable_keyed_and_not_the_id() -> None:
    first = deid.pseudonym("KAP-00001", KEY)
    assert first == deid.pseudonym("KAP-00001", KEY) and first.startswith("P-")
    assert len(first) == 12 and "00001" not in first
    assert first != deid.pseudonym("KAP-00002", KEY)
    assert first != deid.pseudonym("KAP-00001", b"another key")


def test_deidentified_frame_has_no_names_ids_or_free_text() -> None:
    original = _frame()
    out = deid.deidentify(original, KEY)
    assert "name" not in out.columns and "notes" not in out.columns
    text = out.to_csv()
    for secret in ("Ann", "Smith", "Bob", "KAP-0000", "Main St", "555-0100"):
        assert secret not in text
    assert list(out["patient_id"]) == [deid.pseudonym("KAP-00001", KEY)] * 2 + [
        deid.pseudonym("KAP-00002", KEY)]
    assert list(out.index) == list(out["patient_id"])  # an id index is replaced too
    assert list(out["age"]) == [45, 45, 90]  # over 89 shown as 90
    assert list(out["phq9"]) == [20, 15, 18]  # clinical values kept
    assert "name" in original.columns and original.index[0] == "KAP-00001"  # input untouched


def test_dates_shift_per_patient_and_keep_intervals() -> None:
    original, out = _frame(), deid.deidentify(_frame(), KEY)
    shift = (out["recorded_at"].reset_index(drop=True)
             - original["recorded_at"].reset_index(drop=True))
    assert (shift != pd.Timedelta(0)).all()
    assert shift.iloc[0] == shift.iloc[1] == deid.date_shift("KAP-00001", KEY)
    assert abs(shift.iloc[0]) <= pd.Timedelta(days=deid.MAX_SHIFT_DAYS)
    assert out["recorded_at"].iloc[1] - out["recorded_at"].iloc[0] == pd.Timedelta(days=7)


def test_views_by_role() -> None:
    frame = _frame()
    assert deid.for_view(frame, IDENTIFIED) is frame
    pseudo = deid.for_view(frame, PSEUDONYMISED)
    assert "name" not in pseudo.columns and "notes" not in pseudo.columns
    assert list(pseudo["patient_id"]) == list(frame["patient_id"])
    assert "KAP-00001" not in deid.for_view(frame, DEIDENTIFIED, KEY).to_csv()
    with pytest.raises(PermissionError):
        deid.for_view(frame, None)


def test_the_key_file_is_made_once_and_private(home: Path) -> None:
    key = deid.pseudonym_key()
    path = home / deid.KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(key) == 64
    assert deid.pseudonym_key() == key


def test_the_key_can_come_from_the_environment(monkeypatch: pytest.MonkeyPatch,
                                               home: Path) -> None:
    monkeypatch.setenv(deid.KEY_VARIABLE, "from the vault")
    assert deid.pseudonym_key() == b"from the vault"
    assert not (home / deid.KEY_FILE).exists()
