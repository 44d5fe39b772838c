"""Property-based input tests (issue 5): random malformed rows and files thrown at every
importer and validator must end in success or a clear error, never a crash, and a failed
import must leave ZERO rows in the store.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from interop.fhir.importer.patient import (
    FhirImportError,
    ImportResult,
    import_bundle,
    import_ndjson_all,
)
from models.contract import schema
from models.contract.csv_input import read_csv_strict
from models.contract.validation import (
    InputValidationError,
    RowError,
    validate_patients,
    validate_sessions,
)
from records.db import make_engine, session_factory
from records.errors import RecordError
from records.imports.bulk import import_patients_and_sessions
from records.migrate import upgrade
from records.repository import add_patient
from records.tables.clinical import Patient, TreatmentPlan, TreatmentSession

SETTINGS = settings(max_examples=50, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])
N_ROWS = 3

# ---------------------------------------------------------------- valid inputs


def _patient(number: int) -> dict[str, Any]:
    return {"patient_id": f"KAP-{number:05d}", "name": f"Test Patient {number}",
            **schema.defaults()}


def _session(pid: str, number: int) -> dict[str, Any]:
    return {
        "patient_id": pid, "session_number": number, "day": 3 * (number - 1),
        "route": "iv", "dose_mg_per_kg": 0.5, "phq9": 18 - number, "phq9_item9": 0,
        "gad7": 10, "pcl5": None, "cssrs": 0, "sbp_pre": 122, "dbp_pre": 78, "hr_pre": 72,
        "sbp_post": 138, "dbp_post": 86, "hr_post": 80, "cadss": 8, "nausea": False,
        "vomiting": False, "headache": False, "dizziness": False, "sedation": True,
        "minutes_to_discharge": 95, "dropout_after": False,
    }


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


PATIENT_ROWS = [{k: _cell(v) for k, v in _patient(i + 1).items()} for i in range(N_ROWS)]
SESSION_ROWS = [{k: _cell(v) for k, v in _session("KAP-00001", i + 1).items()}
                for i in range(N_ROWS)]
PATIENT_IDS = [r["patient_id"] for r in PATIENT_ROWS]


def _to_csv(rows: list[dict[str, str]], columns: list[str]) -> bytes:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([[r[c] for c in columns] for r in rows])
    return buf.getvalue().encode("utf-8")


# ---------------------------------------------------------------- mutations

cell_values = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["", " ", "nan", "NaN", "inf", "-inf", "1e309", "-1", "0", "1.5", "yes",
                     "maybe", "NULL", "None", "=cmd|' /C calc'!A0", "\x00", "\u202e", "é",
                     "1,5", '"', "\n", "999999999999999999999"]),
    st.integers(min_value=-10**12, max_value=10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)


@st.composite
def mutated_rows(draw: st.DrawFn, base: list[dict[str, str]]) -> tuple[
        list[dict[str, str]], list[str], str, tuple[int, str] | None]:
    """(rows, columns, kind, (data-row index, column) of a replaced cell or None)."""
    rows = [dict(r) for r in base]
    columns = list(base[0])
    kind = draw(st.sampled_from(["cell", "drop", "dup", "cells"]))
    where = None
    if kind == "cell":
        i, col = draw(st.integers(0, len(rows) - 1)), draw(st.sampled_from(columns))
        rows[i][col] = draw(cell_values)
        where = (i, col)
    elif kind == "cells":
        for _ in range(draw(st.integers(1, 6))):
            rows[draw(st.integers(0, len(rows) - 1))][draw(st.sampled_from(columns))] = \
                draw(cell_values)
    elif kind == "drop":
        columns.remove(draw(st.sampled_from(columns)))
    else:  # duplicate a row's key
        src, dst = draw(st.permutations(range(len(rows))))[:2]
        rows[dst] = dict(rows[src])
    return rows, columns, kind, where


@st.composite
def mutated_file(draw: st.DrawFn, base: list[dict[str, str]]) -> bytes:
    """A valid CSV broken at the text or byte level."""
    rows, columns, _, _ = draw(mutated_rows(base))
    data = _to_csv(rows, columns)
    kind = draw(st.sampled_from(["rows", "truncate", "bytes", "insert", "random", "bom"]))
    if kind == "truncate":
        data = data[:draw(st.integers(0, len(data)))]
    elif kind == "bytes":  # overwrite a stretch with random bytes (often invalid UTF-8)
        at = draw(st.integers(0, len(data)))
        junk = draw(st.binary(min_size=1, max_size=12))
        data = data[:at] + junk + data[at + len(junk):]
    elif kind == "insert":
        at = draw(st.integers(0, len(data)))
        junk = draw(st.sampled_from([b"\xff", b"\xc3", b"\x00", b'"', b",", b"\r", b"\n",
                                     b"\xef\xbb\xbf", b"\xfe\xff"]))
        data = data[:at] + junk + data[at:]
    elif kind == "random":
        data = draw(st.binary(max_size=200))
    elif kind == "bom":
        data = draw(st.sampled_from([b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"])) + data
    return data


# ---------------------------------------------------------------- checks


def _assert_clear(exc: InputValidationError, columns: set[str] | None = None) -> None:
    """Every problem has a message and a sensible location; the report is printable."""
    assert exc.errors, "InputValidationError with no errors"
    for err in exc.errors:
        assert isinstance(err, RowError)
        assert isinstance(err.message, str) and err.message.strip(), err
        assert err.row is None or (isinstance(err.row, int) and err.row >= 1), err
        assert err.column is None or isinstance(err.column, str), err
        if columns is not None and err.column is not None:
            assert err.column in columns, f"{err} names a column that is not in the input"
    assert str(exc) and exc.summary()


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="kapcds-props-") as folder:
        yield Path(folder)


def _read(workdir: Path, data: bytes, name: str) -> Any:
    path = workdir / name
    path.write_bytes(data)
    return read_csv_strict(path)


# ---------------------------------------------------------------- 1, 2: files → validators


@SETTINGS
@given(data=mutated_file(PATIENT_ROWS))
def test_patients_file_is_valid_or_clear_error(workdir: Path, data: bytes) -> None:
    try:
        df = _read(workdir, data, "patients.csv")
        out = validate_patients(df)
    except InputValidationError as exc:
        _assert_clear(exc)
    else:
        assert len(out) == len(df) >= 1


@SETTINGS
@given(data=mutated_file(SESSION_ROWS))
def test_sessions_file_is_valid_or_clear_error(workdir: Path, data: bytes) -> None:
    try:
        df = _read(workdir, data, "sessions.csv")
        out = validate_sessions(df, known_patient_ids=PATIENT_IDS)
    except InputValidationError as exc:
        _assert_clear(exc)
    else:
        assert len(out) == len(df) >= 1


def _check_located(exc: InputValidationError, rows: list[dict[str, str]], columns: list[str],
                   kind: str, where: tuple[int, str] | None, keys: list[str]) -> None:
    """A row/column mutation is reported at that row and/or column."""
    _assert_clear(exc, set(columns) | set(keys))  # a missing column is named too
    errors = exc.errors
    if kind == "drop":
        missing = [c for c in keys if c not in columns]
        if missing:  # a dropped validated column is named, with no row
            assert any(e.column in missing and e.row is None for e in errors), errors
    elif kind == "dup":
        assert any(e.column in keys and e.row is not None for e in errors), errors
    elif kind == "cell" and where is not None:
        line = 2 + where[0] + sum(rows[i][c].count("\n") + rows[i][c].count("\r")
                                  for i in range(where[0]) for c in columns)
        assert any(e.row is not None for e in errors), errors
        if "\n" not in rows[where[0]][where[1]] and "\r" not in rows[where[0]][where[1]]:
            assert any(e.row == line for e in errors), (line, errors)


@SETTINGS
@given(case=mutated_rows(PATIENT_ROWS))
def test_patient_row_problem_is_located(workdir: Path, case: Any) -> None:
    rows, columns, kind, where = case
    try:
        validate_patients(_read(workdir, _to_csv(rows, columns), "patients.csv"))
    except InputValidationError as exc:
        _check_located(exc, rows, columns, kind, where, [f.name for f in schema.FEATURES]
                       + ["patient_id"])
    else:
        assert kind != "dup"


@SETTINGS
@given(case=mutated_rows(SESSION_ROWS))
def test_session_row_problem_is_located(workdir: Path, case: Any) -> None:
    rows, columns, kind, where = case
    try:
        validate_sessions(_read(workdir, _to_csv(rows, columns), "sessions.csv"),
                          known_patient_ids=PATIENT_IDS)
    except InputValidationError as exc:
        _check_located(exc, rows, columns, kind, where, schema.session_field_names())
    else:
        assert kind != "dup"


# ---------------------------------------------------------------- 3: store import


@pytest.fixture(scope="module")
def template_store(workdir: Path) -> Path:
    """A migrated, empty SQLite store, copied for every example (migrating is slow)."""
    path = workdir / "template.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


class _Store:
    def __init__(self, template: Path) -> None:
        self.dir = tempfile.TemporaryDirectory(prefix="kapcds-store-")
        path = Path(self.dir.name) / "kapcds.sqlite3"
        shutil.copy(template, path)
        self.engine = make_engine(f"sqlite:///{path}")
        self.factory = session_factory(self.engine)

    def counts(self) -> tuple[int, int, int]:
        with self.factory() as s:
            return tuple(s.scalar(select(func.count()).select_from(t))  # type: ignore[return-value]
                         for t in (Patient, TreatmentSession, TreatmentPlan))

    def close(self) -> None:
        self.engine.dispose()
        self.dir.cleanup()


def _frame(workdir: Path, rows: list[dict[str, str]], columns: list[str], name: str) -> Any:
    try:
        return _read(workdir, _to_csv(rows, columns), name)
    except InputValidationError:  # e.g. every column dropped: build the frame directly
        import pandas as pd
        return pd.DataFrame([{c: r[c] for c in columns} for r in rows], columns=columns)


@SETTINGS
@given(p_case=mutated_rows(PATIENT_ROWS), s_case=mutated_rows(SESSION_ROWS),
       break_sessions=st.booleans())
def test_store_import_is_all_or_nothing(workdir: Path, template_store: Path, p_case: Any,
                                        s_case: Any, break_sessions: bool) -> None:
    p_rows, p_cols, _, _ = p_case
    patients = _frame(workdir, p_rows, p_cols, "patients.csv")
    if break_sessions:
        s_rows, s_cols, _, _ = s_case
    else:
        s_rows, s_cols = SESSION_ROWS, list(SESSION_ROWS[0])
    sessions = _frame(workdir, s_rows, s_cols, "sessions.csv")
    store = _Store(template_store)
    try:
        with store.factory() as db:
            try:
                summary = import_patients_and_sessions(db, patients, sessions)
            except InputValidationError as exc:
                _assert_clear(exc)
                assert store.counts() == (0, 0, 0), "a refused import wrote rows"
            except RecordError as exc:
                assert str(exc).strip()
                assert store.counts() == (0, 0, 0), "a refused import wrote rows"
            else:
                assert (summary.patients, summary.sessions) == (len(patients), len(sessions))
                assert store.counts() == (len(patients), len(sessions), len(patients))
    finally:
        store.close()


# ---------------------------------------------------------------- 4: FHIR


def _valid_bundle() -> dict[str, Any]:
    subject = {"reference": "Patient/pat-1"}
    resources = [
        {"resourceType": "Patient", "id": "pat-1", "gender": "female", "birthDate": "1980-03-15",
         "name": [{"family": "Synthetic", "given": ["Alex"]}]},
        {"resourceType": "Observation", "id": "phq9", "status": "final",
         "code": {"coding": [{"system": "http://loinc.org", "code": "44261-6"}]},
         "subject": subject, "effectiveDateTime": "2025-05-01", "valueInteger": 19},
        {"resourceType": "Observation", "id": "hr", "status": "final",
         "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
         "subject": subject, "effectiveDateTime": "2025-05-01",
         "valueQuantity": {"value": 76, "unit": "/min", "code": "/min",
                           "system": "http://unitsofmeasure.org"}},
        {"resourceType": "Condition", "id": "c-htn",
         "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "I10"}]},
         "clinicalStatus": {"coding": [{
             "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
             "code": "active"}]},
         "subject": subject},
        {"resourceType": "MedicationStatement", "id": "m1", "status": "active",
         "medicationCodeableConcept": {"text": "sertraline"}, "subject": subject,
         "effectiveDateTime": "2025-04-01",
         "dosage": [{"doseAndRate": [{"doseQuantity": {"value": 50, "unit": "mg"}}]}]},
    ]
    return {"resourceType": "Bundle", "type": "collection",
            "entry": [{"fullUrl": f"http://example.org/fhir/{r['resourceType']}/{r['id']}",
                       "resource": r} for r in resources]}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12)
    | st.sampled_from(["Bundle", "Patient", "Observation", "collection", "final", "1980",
                       "1980-13", "2025-02-30", "Patient/pat-1", "female", "44261-6"]),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(["resourceType", "id", "type", "entry", "resource",
                                     "value", "reference", "code"]) | st.text(max_size=6),
                    children, max_size=3),
    max_leaves=8)


def _paths(node: Any, prefix: tuple = ()) -> Iterator[tuple]:
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


@st.composite
def mutated_bundle(draw: st.DrawFn) -> Any:
    doc = _valid_bundle()
    for _ in range(draw(st.integers(1, 4))):
        paths = [p for p in _paths(doc) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        action = draw(st.sampled_from(["drop", "replace", "string", "number", "wrap"]))
        if action == "drop":
            del parent[path[-1]]
        elif action == "replace":
            parent[path[-1]] = draw(json_values)
        elif action == "string":
            parent[path[-1]] = draw(st.text(max_size=15))
        elif action == "number":
            parent[path[-1]] = draw(st.integers(-10**20, 10**20) | st.floats(allow_nan=False))
        else:
            parent[path[-1]] = [parent[path[-1]]]
    form = draw(st.sampled_from(["dict", "text", "bytes", "broken"]))
    if form == "dict":
        return doc
    text = json.dumps(doc)
    if form == "text":
        return text
    if form == "bytes":
        return text.encode("utf-8")
    at = draw(st.integers(0, len(text)))
    return text.encode("utf-8")[:at] + draw(st.binary(min_size=1, max_size=8))


def _assert_fhir(data: Any) -> None:
    try:
        result = import_bundle(data, reference_date=date(2025, 6, 1))
    except FhirImportError as exc:
        assert str(exc).strip()
    else:
        assert isinstance(result, ImportResult)
        assert set(result.found) | set(result.missing) == set(schema.feature_names())


@SETTINGS
@given(data=mutated_bundle())
def test_fhir_mutated_bundle_imports_or_clear_error(data: Any) -> None:
    _assert_fhir(data)


@SETTINGS
@given(data=json_values | st.binary(max_size=60) | st.text(max_size=60)
       | json_values.map(json.dumps))
def test_fhir_random_input_imports_or_clear_error(data: Any) -> None:
    if isinstance(data, list | int | float | bool) or data is None:
        data = json.dumps(data)  # import_bundle takes text, bytes, a path or a dict
    _assert_fhir(data)


@SETTINGS
@given(lines=st.lists(json_values.map(json.dumps) | st.text(max_size=30)
                      | st.just(json.dumps(_valid_bundle()["entry"][0]["resource"])),
                      max_size=5))
def test_fhir_random_ndjson_imports_or_clear_error(lines: list[str]) -> None:
    try:
        results = import_ndjson_all("\n".join(lines), reference_date=date(2025, 6, 1))
    except FhirImportError as exc:
        assert str(exc).strip()
    else:
        assert all(isinstance(r, ImportResult) for r in results)


# ---------------------------------------------------------------- 5: add_patient


def _bad_value(feature: schema.Feature) -> st.SearchStrategy[Any]:
    """Values the schema must refuse for this feature."""
    always = st.sampled_from(["", "  ", None, "not-a-value-☃"])
    if feature.dtype in ("int", "float"):
        out = [st.sampled_from(["abc", "nan", "inf", float("nan"), float("inf")])]
        if feature.min is not None:
            out.append(st.floats(max_value=feature.min - 1e-6, allow_nan=False,
                                 allow_infinity=False, min_value=-1e12))
        if feature.max is not None:
            out.append(st.floats(min_value=feature.max + 1e-6, allow_nan=False,
                                 allow_infinity=False, max_value=1e12))
        if feature.dtype == "int":
            out.append(st.sampled_from([0.5, "2.5"]))
        return st.one_of(always, *out)
    if feature.dtype == "bool":
        return st.one_of(always, st.sampled_from(["maybe", "2", "-1", "truthy"]))
    return st.one_of(always, st.text(min_size=1, max_size=10).filter(
        lambda t: t.strip().lower() not in {c.lower() for c in feature.categories}))


@st.composite
def bad_patient(draw: st.DrawFn) -> tuple[str, Any]:
    feature = draw(st.sampled_from(schema.FEATURES))
    return feature.name, draw(_bad_value(feature))


@SETTINGS
@given(bad=bad_patient())
def test_add_patient_bad_value_writes_nothing(template_store: Path, bad: tuple[str, Any]) -> None:
    name, value = bad
    store = _Store(template_store)
    try:
        with store.factory() as db:
            data = {**_patient(1), name: value}
            with pytest.raises(InputValidationError) as info:
                add_patient(db, data)
            _assert_clear(info.value)
            assert any(e.column == name for e in info.value.errors), info.value.errors
            db.rollback()
            assert not db.new
        assert store.counts() == (0, 0, 0)
    finally:
        store.close()


@SETTINGS
@given(name=st.sampled_from([f.name for f in schema.FEATURES]), value=cell_values)
def test_add_patient_random_value_saves_or_refuses(template_store: Path, name: str,
                                                   value: str) -> None:
    store = _Store(template_store)
    try:
        with store.factory() as db:
            try:
                add_patient(db, {**_patient(1), name: value})
                db.commit()
            except InputValidationError as exc:
                _assert_clear(exc)
                db.rollback()
                assert store.counts() == (0, 0, 0)
            else:
                assert store.counts() == (1, 0, 1)
    finally:
        store.close()
