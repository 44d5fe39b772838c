"""Every way of tampering with the audit trail is caught by `kapcds audit verify`, which names
the first broken link, anchored by the signed checkpoint file outside the database."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, select, text

from base import settings
from records.audit import checkpoints
from records.audit import trail as audit
from records.db import make_engine, session_factory
from records.migrate import upgrade
from records.security.policy import IDENTIFIED, SECURITY, Actor
from records.tables.security import AuditEntry

DR = Actor("dr.rivera", "clinician")


@pytest.fixture
def store() -> Engine:
    """This installation's store: 10 entries, the last a sign-in (anchored)."""
    engine = make_engine()
    upgrade(engine)
    for n in range(1, 10):
        audit.record_now(engine, DR, "patient_view", IDENTIFIED, patient_id=f"KAP-{n:05d}")
    audit.record_now(engine, DR, "login", SECURITY)
    yield engine
    engine.dispose()


def _sql(engine: Engine, *statements: str, **params: Any) -> None:
    """Raw SQL as a database owner would run it: triggers dropped first."""
    with engine.begin() as conn:
        conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_update"))
        conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_delete"))
        for statement in statements:
            conn.execute(text(statement), params)


def _rows(engine: Engine) -> list[dict[str, Any]]:
    with session_factory(engine)() as db:
        return [dict(row) for row in db.execute(
            select(AuditEntry.__table__).order_by(AuditEntry.id)).mappings()]


def _rewrite(engine: Engine, rows: list[dict[str, Any]]) -> None:
    """Replace the whole table with ``rows``, every hash recomputed, the head updated."""
    previous = "0" * 64
    for number, row in enumerate(rows, start=1):
        row.update(id=number, prev_hash=previous)
        row["hash"] = previous = audit.entry_hash(row)
    _sql(engine, "DELETE FROM audit_log")
    with engine.begin() as conn:
        conn.execute(AuditEntry.__table__.insert(), rows)
        conn.execute(text("UPDATE audit_chain SET entries = :n, head_hash = :h"),
                     {"n": len(rows), "h": previous})


def _verify(cli: Callable[..., Any]) -> str:
    result = cli("audit", "verify")
    assert result.returncode == 1, result.stdout
    return result.stdout.strip()


def test_checkpoints_are_signed_lines_in_a_private_file(store: Engine) -> None:
    path = settings.audit_checkpoint_file()
    assert path.parent == settings.signing_key_file().parent
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    found, problems = checkpoints.read_all(checkpoints.store_name(store))
    # issue 24: every committed transaction with audit entries is anchored
    assert problems == [] and [c.entries for c in found] == list(range(1, 11))
    assert found[-1].reason == "login" and [c.seq for c in found] == list(range(1, 11))
    with session_factory(store)() as db:
        report = audit.verify(db)
    assert report.ok and "anchored by the checkpoint" in str(report)


def test_a_checkpoint_per_transaction(store: Engine) -> None:
    """Issue 24: no longer every N entries; each transaction's entries are anchored once."""
    with session_factory(store)() as db:
        for _ in range(3):
            audit.record(db, DR, "patient_view", IDENTIFIED)  # 11-13, one transaction
        db.commit()
    audit.record_now(store, DR, "model_promotion", "model")  # 14
    found, _ = checkpoints.read_all(checkpoints.store_name(store))
    assert [(c.entries, c.reason) for c in found][-3:] == [
        (10, "login"), (13, "patient_view"), (14, "model_promotion")]


def test_a_rolled_back_entry_is_never_anchored(store: Engine) -> None:
    with session_factory(store)() as db:
        audit.record(db, DR, "export", IDENTIFIED)
        db.rollback()
    found, _ = checkpoints.read_all(checkpoints.store_name(store))
    assert found[-1].entries == 10


def test_edit(store: Engine, cli: Callable[..., Any]) -> None:
    _sql(store, "UPDATE audit_log SET patient_id = 'KAP-00099' WHERE id = 4")
    assert _verify(cli) == ("BROKEN at entry 4: its contents do not match its hash (the "
                            "entry was altered)")


def test_delete(store: Engine, cli: Callable[..., Any]) -> None:
    _sql(store, "DELETE FROM audit_log WHERE id = 4")
    assert _verify(cli) == "BROKEN at entry 4: entry 4 is missing (next is 5)"


def test_forged_append_is_named_not_a_crash(store: Engine, cli: Callable[..., Any]) -> None:
    last = _rows(store)[-1]
    forged = {**last, "id": 11, "action": "decision", "prev_hash": last["hash"],
              "detail": "forged"}
    forged["hash"] = audit.entry_hash(forged)
    with store.begin() as conn:
        conn.execute(AuditEntry.__table__.insert(), [forged])
    result = cli("audit", "verify")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stdout.startswith("BROKEN at entry 11: entry 11 was appended outside the "
                                    "audit code")
    assert "could not be recorded" in result.stderr


def test_cut_tail(store: Engine, cli: Callable[..., Any]) -> None:
    rows = _rows(store)
    _sql(store, "DELETE FROM audit_log WHERE id > 7",
         "UPDATE audit_chain SET entries = 7, head_hash = :h", h=rows[6]["hash"])
    assert _verify(cli).startswith("BROKEN at entry 8: entries 8–10 are missing: the "
                                   "checkpoint file anchored 10 entries")


def test_consistent_rewrite(store: Engine, cli: Callable[..., Any]) -> None:
    """The attack of issue 17: delete an entry, recompute every hash, fix the head."""
    rows = _rows(store)
    _rewrite(store, rows[:3] + rows[4:])
    with session_factory(store)() as db:
        assert audit.verify(db).broken_at == 4
    assert _verify(cli) == ("BROKEN at entry 4: it differs from the entry anchored in the "
                            "checkpoint file (the chain was rewritten from here, hashes "
                            "recomputed)")


def test_a_rewritten_chain_is_not_anchored_by_the_next_sign_in(store: Engine) -> None:
    rows = _rows(store)
    rows[5]["detail"] = "rewritten"
    _rewrite(store, rows)
    audit.record_now(store, DR, "login", SECURITY)  # the writer refuses to anchor this
    found, _ = checkpoints.read_all(checkpoints.store_name(store))
    assert found[-1].entries == 10
    with session_factory(store)() as db:
        assert audit.verify(db).broken_at == 6


def test_an_altered_checkpoint_line_is_caught(store: Engine, cli: Callable[..., Any]) -> None:
    path = settings.audit_checkpoint_file()
    lines = path.read_text().splitlines()
    line = json.loads(lines[-1])  # one checkpoint per entry here (issue 24)
    line["entries"], line["first"] = 9, 9
    path.write_text("\n".join([*lines[:-1], json.dumps(line)]) + "\n")
    assert "checkpoint file line 10 is invalid" in _verify(cli)


@pytest.mark.parametrize("damage", [
    "UPDATE audit_log SET at = 'not a time' WHERE id = 3",
    "ALTER TABLE audit_log DROP COLUMN detail",
    "DROP TABLE audit_chain",
    "DROP TABLE audit_log",
])
def test_a_malformed_table_gives_a_report_not_a_crash(store: Engine, damage: str,
                                                       cli: Callable[..., Any]) -> None:
    _sql(store, damage)
    with session_factory(store)() as db:
        report = audit.verify(db)
    assert not report.ok and report.problem
    result = cli("audit", "verify")
    assert result.returncode == 1 and result.stdout.startswith("BROKEN")
    assert "Traceback" not in result.stderr
