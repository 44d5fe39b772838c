"""First run: an `admin` account with the configured or a generated password, shown once,
never a fixed default and never written to the log."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from sqlalchemy import Engine

from records import first_run
from records.db import make_engine, session_factory
from records.migrate import upgrade
from records.security.users import authenticate, list_users


def _engine() -> Engine:
    """A fresh, migrated store in this test's home."""
    engine = make_engine()
    upgrade(engine)
    return engine


def test_generated_password_is_shown_once_and_works(
        capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    engine = _engine()
    try:
        with caplog.at_level(logging.DEBUG):
            first_run.ensure_admin(engine)
            first_run.ensure_admin(engine)
        shown = capsys.readouterr().err
        passwords = re.findall(r"\n    (\S+)\n", shown)
        assert len(passwords) == 1 and shown.count("administrator account 'admin'") == 1
        assert passwords[0] not in caplog.text
        with session_factory(engine)() as db:
            assert [u.username for u in list_users(db)] == ["admin"]
            assert authenticate(db, "admin", passwords[0]).role == "admin"
            assert not authenticate(db, "admin", "admin").ok  # no default password
    finally:
        engine.dispose()


def test_two_first_runs_make_different_passwords(capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    shown = []
    for name in ("a", "b"):
        monkeypatch.setenv("KAPCDS_HOME", str(tmp_path / name))
        engine = _engine()
        try:
            first_run.ensure_admin(engine)
        finally:
            engine.dispose()
        shown += re.findall(r"\n    (\S+)\n", capsys.readouterr().err)
    assert len(shown) == 2 and shown[0] != shown[1]


def test_configured_password_is_used_and_not_shown(capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAPCDS_ADMIN_PASSWORD", "set by the operator")
    engine = first_run.ensure_store()  # the real first-run path (migrate, seed, admin)
    try:
        assert "set by the operator" not in capsys.readouterr().err
        with session_factory(engine)() as db:
            assert authenticate(db, "admin", "set by the operator").ok
    finally:
        engine.dispose()
