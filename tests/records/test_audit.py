"""The audit trail: append-only (ORM and database), hash-chained, verifiable, exportable."""

from __future__ import annotations

import csv
import io
import threading
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from records.audit import trail as audit
from records.errors import AppendOnlyError
from records.security.policy import IDENTIFIED, SECURITY, Actor
from records.tables.clinical import utcnow
from records.tables.security import GENESIS_HASH, AuditEntry

DR = Actor("dr.rivera", "clinician")


def _fill(db: Session, n: int = 5) -> None:
    for i in range(n):
        audit.record(db, DR, "patient_view", IDENTIFIED, patient_id=f"KAP-{i + 1:05d}")
    db.commit()


def _unprotect(conn, dialect: str) -> None:
    """What an attacker with DDL rights could do: switch the append-only triggers off."""
    if dialect == "sqlite":
        conn.execute(text("DROP TRIGGER audit_log_no_update"))
        conn.execute(text("DROP TRIGGER audit_log_no_delete"))
    else:
        conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))


def test_entries_form_a_chain_from_the_genesis_hash(db: Session) -> None:
    _fill(db, 3)
    entries = list(db.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    assert [e.id for e in entries] == [1, 2, 3]
    assert entries[0].prev_hash == GENESIS_HASH
    assert [e.prev_hash for e in entries[1:]] == [e.hash for e in entries[:-1]]
    first = entries[0]
    assert (first.username, first.role, first.action, first.category, first.outcome,
            first.patient_id) == ("dr.rivera", "clinician", "patient_view", IDENTIFIED,
                                  "success", "KAP-00001")
    assert first.at.tzinfo is not None and abs(utcnow() - first.at) < timedelta(minutes=1)
    report = audit.verify(db)
    assert report.ok and report.entries == 3 and str(report).startswith("OK")


def test_hash_covers_a_canonical_serialisation(db: Session) -> None:
    entry = audit.record(db, DR, "decision", IDENTIFIED, patient_id="KAP-1", detail="ünï")
    fields = {name: getattr(entry, name) for name in audit.HASHED_FIELDS}
    body = audit.canonical(fields)
    assert body.startswith(b'{"action":"decision","at":"') and b" " not in body.replace(
        b"dr.rivera", b"")
    assert audit.entry_hash(fields) == entry.hash
    assert audit.entry_hash({**fields, "detail": "uni"}) != entry.hash


def test_the_orm_refuses_to_change_or_delete_an_entry(db: Session) -> None:
    _fill(db, 1)
    entry = db.get(AuditEntry, 1)
    assert entry is not None
    entry.outcome = "failure"
    with pytest.raises(AppendOnlyError, match="append-only"):
        db.flush()
    db.rollback()
    db.delete(entry)
    with pytest.raises(AppendOnlyError, match="append-only"):
        db.flush()
    db.rollback()
    assert audit.verify(db).ok


def test_the_database_refuses_update_delete_and_truncate(store: Engine, db: Session) -> None:
    _fill(db, 2)
    statements = ["UPDATE audit_log SET outcome = 'failure'", "DELETE FROM audit_log"]
    if store.dialect.name == "postgresql":
        statements.append("TRUNCATE audit_log")
    for sql in statements:
        with store.connect() as conn, pytest.raises(DBAPIError, match="append-only"):
            conn.execute(text(sql))
    assert audit.verify(db).ok and audit.verify(db).entries == 2


def test_verify_names_the_first_altered_entry(store: Engine, db: Session) -> None:
    _fill(db, 5)
    with store.begin() as conn:
        _unprotect(conn, store.dialect.name)
        conn.execute(text("UPDATE audit_log SET patient_id = 'KAP-99999' WHERE id = 3"))
    report = audit.verify(db)
    assert not report.ok and report.broken_at == 3 and "altered" in report.problem
    assert report.entries == 2 and str(report).startswith("BROKEN at entry 3")


def test_verify_notices_removed_entries(store: Engine, db: Session) -> None:
    _fill(db, 5)
    with store.begin() as conn:
        _unprotect(conn, store.dialect.name)
        conn.execute(text("DELETE FROM audit_log WHERE id = 5"))
    report = audit.verify(db)
    assert not report.ok and report.broken_at == 5 and "removed from the end" in report.problem
    with store.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE id = 2"))
    report = audit.verify(db)
    assert not report.ok and report.broken_at == 2 and "missing" in report.problem


def test_a_rolled_back_action_leaves_no_entry(db: Session) -> None:
    _fill(db, 1)
    audit.record(db, DR, "decision", IDENTIFIED, patient_id="KAP-00001")
    db.rollback()
    audit.record(db, DR, "logout", SECURITY)
    db.commit()
    assert [e.action for e in db.scalars(select(AuditEntry))] == ["patient_view", "logout"]
    assert audit.verify(db).ok


def test_concurrent_writers_never_fork_the_chain(factory: sessionmaker[Session]) -> None:
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(8):
                with factory() as session:
                    audit.record(session, Actor(f"user{n}", "clinician"), "patient_view",
                                 IDENTIFIED, patient_id=f"KAP-{i:05d}")
                    session.commit()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with factory() as db:
        report = audit.verify(db)
    assert report.ok and report.entries == 32


def test_unknown_vocabulary_is_refused(db: Session) -> None:
    with pytest.raises(ValueError, match="unknown audit action"):
        audit.record(db, DR, "peek", IDENTIFIED)
    with pytest.raises(ValueError, match="unknown data category"):
        audit.record(db, DR, "patient_view", "secrets")
    with pytest.raises(ValueError, match="outcome must be one of"):
        audit.record(db, DR, "patient_view", IDENTIFIED, outcome="maybe")


def test_filters_and_csv_export(db: Session) -> None:
    _fill(db, 3)
    audit.record(db, Actor("=cmd|' /C calc'!A0", None), "login", SECURITY, outcome="failure",
                 detail="+invalid")
    db.commit()
    frame = audit.entries_frame(db, audit.AuditFilter(patient_id="KAP-00002"))
    assert list(frame["id"]) == [2] and list(frame.columns) == list(audit.COLUMNS)
    assert list(audit.entries_frame(db)["id"]) == [4, 3, 2, 1]  # newest first
    failures = audit.entries_frame(db, audit.AuditFilter(outcome="failure", action="login"))
    assert list(failures["id"]) == [4]
    future = audit.AuditFilter(since=utcnow() + timedelta(hours=1))
    assert audit.entries_frame(db, future).empty
    rows = list(csv.DictReader(io.StringIO(audit.export_csv(db))))
    assert [r["id"] for r in rows] == ["1", "2", "3", "4"]
    assert rows[3]["username"] == "'=cmd|' /C calc'!A0" and rows[3]["detail"] == "'+invalid"
    assert rows[0]["at"].endswith("Z") and rows[0]["hash"] == rows[1]["prev_hash"]
