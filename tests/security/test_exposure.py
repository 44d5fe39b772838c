"""Issue 17 point 5: loopback by default, owner-only files for the store and every export."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from base.files import write_atomically
from kapcds.commands import dashboard_command
from records.db import make_engine
from records.migrate import upgrade


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_dashboard_listens_on_loopback_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAPCDS_DASHBOARD_ADDRESS", raising=False)
    command = dashboard_command(8600)
    assert command[command.index("--server.address") + 1] == "127.0.0.1"
    monkeypatch.setenv("KAPCDS_DASHBOARD_ADDRESS", "0.0.0.0")
    command = dashboard_command(8600)
    assert command[command.index("--server.address") + 1] == "0.0.0.0"
    command = dashboard_command(8600, "10.0.0.5")  # --address wins over the setting
    assert command[command.index("--server.address") + 1] == "10.0.0.5"


def test_sqlite_store_and_its_journal_are_owner_only(tmp_path: Path) -> None:
    database = tmp_path / "store" / "kapcds.sqlite3"
    engine = make_engine(f"sqlite:///{database}")
    upgrade(engine)
    with engine.begin() as connection:  # WAL mode: a write leaves -wal/-shm beside it
        connection.exec_driver_sql("CREATE TABLE IF NOT EXISTS probe (x INTEGER)")
        connection.exec_driver_sql("INSERT INTO probe VALUES (1)")
    assert _mode(database) == 0o600
    for extra in database.parent.glob("kapcds.sqlite3-*"):
        assert _mode(extra) == 0o600, extra
    engine.dispose()


def test_an_existing_world_readable_store_is_tightened(tmp_path: Path) -> None:
    database = tmp_path / "old.sqlite3"
    database.touch(mode=0o644)
    database.chmod(0o644)
    make_engine(f"sqlite:///{database}").dispose()
    assert _mode(database) == 0o600


def test_exports_are_written_owner_only(tmp_path: Path) -> None:
    target = tmp_path / "report.pdf"
    write_atomically(target, b"%PDF-1.4 test")
    assert _mode(target) == 0o600
