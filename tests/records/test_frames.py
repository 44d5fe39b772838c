"""Whole-table frames come back in schema dtypes, whatever the backend returns."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from models.contract.schema import FEATURES, SESSION_FIELDS, feature_names, session_field_names
from records import repository as repo

Row = Callable[..., dict[str, Any]]
DTYPES = {"int": "int64", "float": "float64", "bool": "bool", "category": "object"}


def test_patients_frame_has_schema_columns_and_dtypes(db: Session, make_patient: Row) -> None:
    empty = repo.patients_frame(db)
    assert list(empty.columns) == ["patient_id", "name", *feature_names(), "data_gaps"]
    repo.add_patient(db, make_patient(2, bmi=31.5, dx_ptsd=True, route="im",
                                      dose_mg_per_kg=0.6))
    repo.add_patient(db, make_patient(1))
    db.commit()
    frame = repo.patients_frame(db)
    for df in (empty, frame):
        for spec in FEATURES:
            assert str(df[spec.name].dtype) == DTYPES[spec.dtype], spec.name
        assert df["patient_id"].dtype == object and df["name"].dtype == object
    assert frame["patient_id"].tolist() == ["KAP-00001", "KAP-00002"]
    second = frame.iloc[1]
    assert (second["bmi"], second["dx_ptsd"], second["route"]) == (31.5, True, "im")
    assert frame["dx_trd"].tolist() == [True, True]  # a real bool, not SQLite's 1


def test_sessions_frame_has_session_fields_and_dtypes(db: Session, make_patient: Row,
                                                      make_session: Row) -> None:
    for number in (1, 2):
        repo.add_patient(db, make_patient(number))
    repo.add_session(db, "KAP-00002", make_session("KAP-00002", 1, pcl5=33))
    repo.add_session(db, "KAP-00001", make_session("KAP-00001", 2))
    repo.add_session(db, "KAP-00001", {**make_session("KAP-00001", 1), "notes": "tearful"})
    db.commit()
    frame = repo.sessions_frame(db)
    assert list(frame.columns)[:len(SESSION_FIELDS)] == session_field_names()
    assert list(zip(frame["patient_id"], frame["session_number"], strict=True)) == [
        ("KAP-00001", 1), ("KAP-00001", 2), ("KAP-00002", 1)]
    for spec in SESSION_FIELDS:
        expected = "float64" if spec.nullable and spec.dtype == "int" else DTYPES[spec.dtype]
        assert str(frame[spec.name].dtype) == expected, spec.name
    assert frame["pcl5"].isna().tolist() == [True, True, False]
    assert frame["notes"].tolist() == ["tearful", None, None]
    assert str(frame["recorded_at"].dtype) == "datetime64[ns, UTC]"
    one = repo.sessions_frame(db, "KAP-00002")
    assert one["session_number"].tolist() == [1] and one.loc[0, "pcl5"] == 33
    assert repo.sessions_frame(db, "KAP-00404").empty
