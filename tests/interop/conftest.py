"""Interop fixtures: an empty migrated SQLite store per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from records import make_engine, session_factory, upgrade


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Session]:
    engine = make_engine(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    upgrade(engine)
    with session_factory(engine)() as session:
        yield session
    engine.dispose()
