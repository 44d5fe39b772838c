"""`kapcds users`, `kapcds audit` and the audit entries of train and promote."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from security_helpers import register
from sqlalchemy import text

from base import settings
from records.audit import trail as audit
from records.db import make_engine, session_factory
from records.security.users import authenticate, get_user

PASSWORD = "a long enough pass"


def _entries() -> list[dict[str, Any]]:
    engine = make_engine()
    try:
        with session_factory(engine)() as db:
            return list(audit.iter_entries(db))
    finally:
        engine.dispose()


def test_users_lifecycle(cli: Callable[..., Any]) -> None:
    added = cli("users", "add", "Alice", "--role", "clinician", "--password-stdin",
                stdin=PASSWORD + "\n")
    assert added.returncode == 0 and added.stdout == "added user alice (clinician)\n"
    assert cli("users", "set-role", "alice", "trainee").returncode == 0
    assert cli("users", "disable", "alice").returncode == 0
    listed = cli("users", "list")
    assert listed.stdout.split() == ["alice", "trainee", "disabled"]
    assert cli("users", "enable", "alice").returncode == 0
    assert cli("users", "passwd", "alice", "--password-stdin",
               stdin="another long password\n").returncode == 0
    engine = make_engine()
    try:
        with session_factory(engine)() as db:
            assert authenticate(db, "alice", "another long password").role == "trainee"
            assert PASSWORD not in get_user(db, "alice").password_hash  # type: ignore[union-attr]
    finally:
        engine.dispose()
    actions = [(e["action"], e["username"].split(":")[0], e["role"]) for e in _entries()]
    assert actions[:4] == [("user_create", "cli", "system"), ("role_change", "cli", "system"),
                           ("user_disable", "cli", "system"), ("user_enable", "cli", "system")]


@pytest.mark.parametrize("args, message", [
    (("users", "add", "bob", "--role", "boss", "--password-stdin"), "unknown role 'boss'"),
    (("users", "add", "bob", "--role", "trainee", "--password-stdin"), "at least 12"),
    (("users", "add", "bob", "--role", "trainee"), "use --password-stdin"),
    (("users", "disable", "nobody"), "no user 'nobody'"),
    (("users", "set-role", "nobody", "admin"), "no user 'nobody'"),
])
def test_user_errors_are_one_line(cli: Callable[..., Any], args: tuple[str, ...],
                                  message: str) -> None:
    result = cli(*args, stdin="short\n")
    assert result.returncode == 1 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_audit_verify_and_export(cli: Callable[..., Any], tmp_path: Path) -> None:
    bad = cli("users", "add", "=evil", "--role", "trainee", "--password-stdin", stdin=PASSWORD)
    assert bad.returncode == 1 and "invalid username" in bad.stderr
    cli("users", "add", "alice", "--role", "trainee", "--password-stdin", stdin=PASSWORD)
    ok = cli("audit", "verify")
    assert ok.returncode == 0 and ok.stdout.startswith(  # issue 24: every write anchored
        "OK: 1 audit entries, hash chain intact; anchored by the checkpoint of ")
    out = tmp_path / "audit.csv"
    exported = cli("audit", "export", "--out", str(out), "--action", "user_create")
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["action"] for r in rows] == ["user_create"] and rows[0]["detail"].startswith(
        "alice")
    assert [e["action"] for e in _entries()] == ["user_create", "audit_verify",
                                                 "audit_export"]
    engine = make_engine()
    try:
        with engine.begin() as conn:  # tamper behind the triggers' back
            conn.execute(text("DROP TRIGGER audit_log_no_update"))
            conn.execute(text("UPDATE audit_log SET detail = 'bob as admin' WHERE id = 1"))
    finally:
        engine.dispose()
    broken = cli("audit", "verify")
    assert broken.returncode == 1
    assert broken.stdout.startswith("BROKEN at entry 1: its contents do not match its hash")


def test_train_and_promote_are_audited(cli: Callable[..., Any],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    root = settings.default_registry_dir()
    monkeypatch.setattr("training.lifecycle.first_run.train_and_register",
                        lambda *a, **k: register(root, "trained", promote=False))
    trained = cli("train", "--registry", str(root))
    assert trained.returncode == 0, trained.stderr
    version = trained.stdout.strip()
    assert cli("promote", version, "--registry", str(root)).returncode == 0
    assert cli("promote", "no-such-version", "--registry", str(root)).returncode == 1
    entries = [(e["action"], e["category"], e["outcome"], e["detail"]) for e in _entries()]
    assert entries[0][:3] == ("model_training", "model", "success")
    assert entries[0][3].startswith(f"version {version} from ")
    assert entries[1][:3] == ("model_promotion", "model", "success")  # issue 24: the
    assert f": {version} (was None) by cli:" in entries[1][3]  # signed record's id, who, why
    assert entries[2][:3] == ("model_promotion", "model", "failure")
    assert "no-such-version" in entries[2][3]


def test_fhir_import_is_audited_with_the_patients(cli: Callable[..., Any], tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The import and its audit entries are one transaction (parsing stubbed here)."""
    from types import SimpleNamespace

    from security_helpers import patient

    from interop.fhir.importer.store import StoredImport
    from records import repository

    source = tmp_path / "bundle.json"
    source.write_text("{}")
    parsed = SimpleNamespace(name="x", fhir_patient_id="f1", found=[], missing=[], warnings=[])
    monkeypatch.setenv("KAPCDS_ADMIN_PASSWORD", "first admin password")
    monkeypatch.setattr("interop.fhir.importer.batch.import_fhir",  # issue 25: source=
                        lambda path, **kwargs: SimpleNamespace(
                            results=[parsed], lines=lambda *a: ["x: found 0 inputs"],
                            format="FHIR R4"))
    monkeypatch.setattr("interop.fhir.importer.store.store_import",
                        lambda session, result, **k: StoredImport(repository.add_patient(
                            session, patient(90001)), created=True))
    result = cli("import-fhir", str(source))
    assert result.returncode == 0, result.stderr
    imports = [(e["action"], e["patient_id"], e["category"]) for e in _entries()
               if e["action"] == "import"]
    assert imports == [("import", "KAP-90001", "identified")]
