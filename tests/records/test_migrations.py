"""Migrations build the whole schema from empty, match the ORM, and the engine is set up."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from models.contract.schema import FEATURES, SESSION_FIELDS
from records.db import make_engine
from records.migrate import current_revision, downgrade, head_revision, upgrade
from records.tables.clinical import Base

TABLES = {"patients", "treatment_plans", "sessions", "decisions", "users", "audit_log",
          "audit_chain", "predictions_shown", "training_jobs"}


def test_upgrade_creates_every_table_from_empty(engine: Engine) -> None:
    assert not TABLES & set(inspect(engine).get_table_names())
    assert current_revision(engine) is None
    upgrade(engine)
    assert TABLES <= set(inspect(engine).get_table_names())
    assert current_revision(engine) == head_revision()
    patient_columns = {c["name"] for c in inspect(engine).get_columns("patients")}
    assert {f.name for f in FEATURES} <= patient_columns
    assert {"patient_id", "name", "is_synthetic", "created_at", "updated_at",
            "version"} <= patient_columns
    session_columns = {c["name"] for c in inspect(engine).get_columns("sessions")}
    assert {f.name for f in SESSION_FIELDS if f.name != "patient_id"} <= session_columns


def test_upgrade_twice_is_a_no_op(store: Engine) -> None:
    upgrade(store)
    assert current_revision(store) == head_revision()


def test_migrated_schema_matches_the_orm(store: Engine) -> None:
    """A schema feature added without a new migration revision fails here."""
    def ours(name: str | None, type_: str, _parent: object) -> bool:
        return not (type_ == "table" and name == "alembic_version")

    with store.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_name": ours})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_downgrade_to_base_and_back(store: Engine) -> None:
    downgrade(store, "base")
    assert not TABLES & set(inspect(store).get_table_names())
    upgrade(store)
    assert TABLES <= set(inspect(store).get_table_names())


def test_foreign_keys_are_enforced(store: Engine) -> None:
    with pytest.raises(IntegrityError), store.begin() as conn:
        conn.execute(text("INSERT INTO decisions (patient_pk, decision, suggested, clinician, "
                          "created_at) VALUES (9999, 'proceed', 'proceed', 'dr x', "
                          "CURRENT_TIMESTAMP)"))


def test_sqlite_uses_wal_and_foreign_keys_on_every_connection(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'a' / 'b' / 'store.sqlite3'}",
                         pool_size=2, max_overflow=0)
    assert (tmp_path / "a" / "b").is_dir()  # parent folder created
    connections = [engine.connect(), engine.connect()]
    try:
        for conn in connections:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        for conn in connections:
            conn.close()
        engine.dispose()


def test_default_url_is_a_sqlite_file_in_the_data_folder(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAPCDS_DATABASE_URL", raising=False)
    monkeypatch.setenv("KAPCDS_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)  # migrations are found from any working directory
    upgrade()
    assert (tmp_path / "home" / "kapcds.sqlite3").is_file()
    engine = make_engine()
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()
