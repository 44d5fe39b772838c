"""Issue 24, item 7: a read-only or full data folder surfaced raw SQLAlchemy text, and a
non-UTF-8 NDJSON file was refused without naming the line."""

from __future__ import annotations

import errno
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from interop.fhir.importer.parse import FhirImportError
from interop.fhir.importer.sources import read_source
from records import db as records_db
from records.db import make_engine
from records.errors import storage_problem
from records.migrate import upgrade

PASSWORD = "a long enough password"


def _sqlite_with(monkeypatch: pytest.MonkeyPatch, *pragmas: str) -> None:
    """Every new SQLite connection gets ``pragmas``: SQLite's own read-only and disk-full
    errors, raised exactly where a real read-only or full folder raises them."""
    original = records_db._on_sqlite_connect

    def connect(dbapi_connection: Any, record: Any) -> None:
        original(dbapi_connection, record)
        cursor = dbapi_connection.cursor()
        for pragma in pragmas:
            cursor.execute(pragma)
        cursor.close()

    monkeypatch.setattr(records_db, "_on_sqlite_connect", connect)


def _ready_store() -> None:
    engine = make_engine()
    upgrade(engine)
    engine.dispose()


def _one_clear_line(stderr: str, words: str) -> None:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert words in lines[0], lines[0]
    assert "sqlite3" not in lines[0] and "[SQL" not in lines[0] and "(Background" not in lines[0]


def test_a_read_only_data_folder_is_one_clear_line(monkeypatch: pytest.MonkeyPatch,
                                                   cli: Callable[..., Any]):
    _ready_store()
    _sqlite_with(monkeypatch, "PRAGMA query_only=ON")
    result = cli("users", "add", "nurse.a", "--role", "trainee", "--password-stdin",
                 stdin=PASSWORD)
    assert result.returncode == 1
    _one_clear_line(result.stderr, "is read-only for this account: nothing was saved")


def test_a_full_data_folder_is_one_clear_line(monkeypatch: pytest.MonkeyPatch,
                                              cli: Callable[..., Any]):
    _ready_store()

    def full(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA journal_mode=DELETE")  # growth needs new pages
        pages = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
        dbapi_connection.execute(f"PRAGMA max_page_count={pages}")

    monkeypatch.setattr(records_db, "_on_sqlite_connect", full)
    results = [cli("users", "add", f"nurse.{n:02d}", "--role", "trainee", "--password-stdin",
                   stdin=PASSWORD) for n in range(40)]
    failed = [r for r in results if r.returncode == 1]
    assert failed, "the store never filled up"
    _one_clear_line(failed[0].stderr, "is full: nothing was saved")  # SQLite's SQLITE_FULL


@pytest.mark.parametrize("code,words", [(errno.ENOSPC, "is full"),
                                        (errno.EROFS, "is read-only")])
def test_os_errors_of_the_data_folder_are_named(code: int, words: str):
    assert words in storage_problem(OSError(code, "x"), Path("/data"))
    assert storage_problem(ValueError("read-only file system")) is None


def test_a_non_utf8_ndjson_line_is_named(tmp_path: Path):
    path = tmp_path / "patients.ndjson"
    path.write_bytes(b'{"resourceType": "Patient", "id": "a"}\n'
                     b'{"resourceType": "Patient", "id": "b", "name": [{"text": "M\xfcller"}]}\n'
                     b'{"resourceType": "Patient", "id": "c"}\n')
    with pytest.raises(FhirImportError, match="line 2 is not UTF-8"):
        read_source(path)
