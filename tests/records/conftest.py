"""Store fixtures: every store test runs on SQLite and, when configured, on PostgreSQL.

``KAPCDS_TEST_POSTGRES_URL`` (printed by ``.ci/postgres.sh``) enables the PostgreSQL
runs; each test gets its own schema there, dropped afterwards. Without the variable the
PostgreSQL runs skip locally and fail under CI=true, so CI cannot go green untested.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from models.contract.schema import defaults
from records.db import make_engine, session_factory
from records.migrate import upgrade

POSTGRES_URL = os.environ.get("KAPCDS_TEST_POSTGRES_URL")
SESSION_ONE = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)  # session_row's first session


def _postgres_engine() -> Iterator[Engine]:
    if not POSTGRES_URL:
        message = "KAPCDS_TEST_POSTGRES_URL not set (eval \"$(bash .ci/postgres.sh)\")"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Engine]:
    """An empty database on each backend."""
    if request.param == "sqlite":
        sqlite = make_engine(f"sqlite:///{tmp_path / 'store' / 'kapcds.sqlite3'}")
        yield sqlite
        sqlite.dispose()
    else:
        yield from _postgres_engine()


@pytest.fixture
def store(engine: Engine) -> Engine:
    """A database migrated to the newest revision."""
    upgrade(engine)
    return engine


@pytest.fixture
def factory(store: Engine) -> sessionmaker[Session]:
    return session_factory(store)


@pytest.fixture
def db(factory: sessionmaker[Session]) -> Iterator[Session]:
    with factory() as session:
        yield session


def patient_row(number: int = 1, **changes: Any) -> dict[str, Any]:
    """A valid patient at the schema defaults."""
    return {"patient_id": f"KAP-{number:05d}", "name": f"Test Patient {number}",
            **defaults(), **changes}


def session_row(patient_id: str = "KAP-00001", number: int = 1, **changes: Any) -> dict[str, Any]:
    """A valid, unremarkable session record."""
    row: dict[str, Any] = {
        "patient_id": patient_id, "session_number": number, "day": 3 * (number - 1),
        "route": "iv", "dose_mg_per_kg": 0.5, "phq9": 18 - number, "phq9_item9": 0,
        "gad7": 10, "pcl5": None, "cssrs": 0, "sbp_pre": 122, "dbp_pre": 78, "hr_pre": 72,
        "sbp_post": 138, "dbp_post": 86, "hr_post": 80, "cadss": 8, "nausea": False,
        "vomiting": False, "headache": False, "dizziness": False, "sedation": True,
        "minutes_to_discharge": 95, "dropout_after": False,
        "session_at": SESSION_ONE + timedelta(days=3 * (number - 1)),
    }
    row.update(changes)
    return row


@pytest.fixture
def make_patient() -> Callable[..., dict[str, Any]]:
    return patient_row


@pytest.fixture
def make_session() -> Callable[..., dict[str, Any]]:
    return session_row
