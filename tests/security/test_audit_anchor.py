"""Issue 24, attack 4: the audit anchor could be skipped. A consistent rewrite (the project's
own ``entry_hash``) verified OK when no checkpoint existed yet, for entries after the last
checkpoint, after deleting, emptying or cutting the checkpoint file, and after moving the
data folder (checkpoints were matched by database URL). Anchoring now fails closed."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, text

from base import settings
from records.audit import trail as audit
from records.db import make_engine, session_factory
from records.migrate import upgrade
from records.security.policy import IDENTIFIED, SECURITY, Actor
from records.tables.security import AuditEntry

ADMIN = Actor("cli:root", "system")
DR = Actor("dr.rivera", "clinician")


def _rows(engine: Engine) -> list[dict[str, Any]]:
    with session_factory(engine)() as db:
        return [dict(row) for row in db.execute(
            select(AuditEntry.__table__).order_by(AuditEntry.id)).mappings()]


def _rewrite(engine: Engine, rows: list[dict[str, Any]]) -> None:
    """What a database owner does: triggers dropped, every hash recomputed with the
    project's own function, the head row updated."""
    previous = "0" * 64
    for number, row in enumerate(rows, start=1):
        row.update(id=number, prev_hash=previous)
        row["hash"] = previous = audit.entry_hash(row)
    with engine.begin() as conn:
        conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_update"))
        conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_delete"))
        conn.execute(text("DELETE FROM audit_log"))
        conn.execute(AuditEntry.__table__.insert(), rows)
        conn.execute(text("UPDATE audit_chain SET entries = :n, head_hash = :h"),
                     {"n": len(rows), "h": previous})


def _report(engine: Engine) -> audit.ChainReport:
    with session_factory(engine)() as db:
        return audit.verify(db)


@pytest.fixture
def cli_store() -> Engine:
    """A store set up through the CLI: user and role commands, no sign-in yet."""
    engine = make_engine()
    upgrade(engine)
    for name in ("ana", "ben", "tia"):
        audit.record_now(engine, ADMIN, "user_create", SECURITY, detail=f"{name} (trainee)")
    audit.record_now(engine, ADMIN, "role_change", SECURITY, detail="tia: trainee → admin")
    yield engine
    engine.dispose()


def test_rewrite_of_a_store_set_up_through_the_cli_is_caught(cli_store: Engine):
    assert _report(cli_store).ok
    rows = _rows(cli_store)
    rows[1]["detail"] = "ben (admin)"
    _rewrite(cli_store, rows)
    report = _report(cli_store)
    assert not report.ok and report.broken_at == 2


def test_removed_role_change_after_the_last_sign_in_is_caught(cli_store: Engine,
                                                              cli: Callable[..., Any]):
    audit.record_now(cli_store, DR, "login", SECURITY)
    audit.record_now(cli_store, ADMIN, "role_change", SECURITY, detail="dr: trainee → admin")
    _rewrite(cli_store, _rows(cli_store)[:-1])  # the role change removed
    result = cli("audit", "verify")
    assert result.returncode == 1
    assert result.stdout.startswith("BROKEN at entry 6: entries 6–6 are missing")


@pytest.mark.parametrize("damage", ["delete", "empty", "first line"])
def test_a_rewrite_plus_a_damaged_checkpoint_file_is_caught(cli_store: Engine, damage: str):
    rows = _rows(cli_store)
    rows[3]["detail"] = "tia: trainee → clinician"  # hide the escalation
    _rewrite(cli_store, rows)
    path = settings.audit_checkpoint_file()
    if damage == "delete":
        path.unlink()
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        path.write_bytes(path.read_bytes().splitlines(keepends=True)[0])
    report = _report(cli_store)
    assert not report.ok, report
    assert "cut short, emptied or replaced" in report.problem or report.broken_at
    audit.record_now(cli_store, DR, "login", SECURITY)  # the writer does not re-anchor it
    assert not _report(cli_store).ok


def test_a_moved_data_folder_keeps_its_anchor(cli_store: Engine, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch):
    cli_store.dispose()
    moved = tmp_path / "moved-home"
    shutil.move(str(settings.home_dir()), moved)
    monkeypatch.setenv("KAPCDS_HOME", str(moved))
    engine = make_engine()
    try:
        assert _report(engine).ok and "anchored by the checkpoint" in str(_report(engine))
        rows = _rows(engine)
        rows[0]["detail"] = "rewritten"
        _rewrite(engine, rows)
        assert _report(engine).broken_at == 1
    finally:
        engine.dispose()


def test_the_second_sink_catches_a_rewrite_with_a_recreated_local_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any]):
    sink = tmp_path / "append-only"
    monkeypatch.setenv("KAPCDS_AUDIT_ANCHOR_DIR", str(sink))
    engine = make_engine()
    upgrade(engine)
    try:
        for n in range(1, 6):
            audit.record_now(engine, DR, "patient_view", IDENTIFIED, patient_id=f"KAP-{n:05d}")
        assert len(list(sink.iterdir())) == 5
        assert cli("audit", "verify", "--anchor", str(sink)).returncode == 0
        rows = _rows(engine)
        rows[2]["patient_id"] = "KAP-00099"
        _rewrite(engine, rows)  # and the local anchor is rebuilt to match:
        settings.audit_checkpoint_file().unlink()
        with engine.begin() as conn:
            conn.execute(text("UPDATE audit_anchor SET checkpoints = 0"))
        audit.record_now(engine, DR, "login", SECURITY)  # re-anchors the rewritten chain
    finally:
        engine.dispose()
    result = cli("audit", "verify", "--anchor", str(sink))
    assert result.returncode == 1 and result.stdout.startswith("BROKEN at entry 3"), \
        result.stdout
