"""Issue 24, attack 2: the active model was an unsigned pointer. ``echo VERSION >
registry/CURRENT`` made a never-promoted version current, and a kill -9 during a promotion
left a promoted version with no audit entry."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from security_helpers import register
from sqlalchemy import select

from base import settings
from models.store.registry import Registry, RegistryError
from records import make_engine, session_factory, upgrade
from records.tables.security import AuditEntry

ROOT = Path(__file__).resolve().parents[2]


def _entries(action: str) -> list[AuditEntry]:
    engine = make_engine(settings.default_database_url())
    upgrade(engine)
    try:
        with session_factory(engine)() as session:
            return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))
    finally:
        engine.dispose()


def test_hand_written_current_is_refused_and_audited(home: Path, cli: Callable):
    root = home / "registry"
    promoted = register(root, "a")
    never = register(root, "b", promote=False)
    (root / "CURRENT").write_text(never + "\n", encoding="utf-8")  # the attack
    listing = cli("versions", "--registry", str(root))
    assert f"* {never}" not in listing.stdout, "a never-promoted version is starred"
    assert f"* {promoted}" not in listing.stdout
    with pytest.raises(RegistryError, match="not a signed promotion record"):
        Registry(root).current_version()
    with pytest.raises(RegistryError, match="no model version is trusted"):
        Registry(root).load()
    refused = _entries("integrity_failure")
    assert refused and "CURRENT" in refused[-1].detail


def test_edited_promotion_record_is_refused(home: Path):
    root = home / "registry"
    register(root, "a")
    never = register(root, "b", promote=False)
    record = json.loads((root / "CURRENT").read_text(encoding="utf-8"))
    (root / "CURRENT").write_text(json.dumps({**record, "version": never}), encoding="utf-8")
    with pytest.raises(RegistryError, match="does not verify"):
        Registry(root).current_version()


def test_promote_writes_a_signed_record_with_its_audit_entry(home: Path, cli: Callable):
    root = home / "registry"
    register(root, "a")
    candidate = register(root, "b", promote=False)
    result = cli("promote", candidate, "--registry", str(root), "--reason", "better calibration")
    assert result.returncode == 0, result.stderr
    record = Registry(root).promotion()
    assert record["version"] == candidate and record["reason"] == "better calibration"
    assert record["by"].startswith("cli:") and record["at"]
    details = [e.detail for e in _entries("model_promotion")]
    assert any(f"promotion {record['id']}: {candidate}" in d for d in details)
    listing = cli("versions", "--registry", str(root))
    assert f"* {candidate}" in listing.stdout and "better calibration" in listing.stdout


KILL = """
import os, signal, sys
from base import settings
from models.store.registry import Registry
from records import make_engine, upgrade
from records.audit.registry_events import promotion_audit
from records.security.policy import Actor
root, version, when = sys.argv[1:4]
engine = make_engine(settings.default_database_url())
upgrade(engine)
write = promotion_audit(engine, Actor("cli:test", "system"))
def audit(record):
    if when == "before-audit":
        os.kill(os.getpid(), signal.SIGKILL)
    write(record)
    if when == "after-audit":
        os.kill(os.getpid(), signal.SIGKILL)
Registry(root).promote(version, by="cli:test", reason="kill test", audit=audit)
"""


@pytest.mark.parametrize("when", ["before-audit", "after-audit", "never"])
def test_kill_9_during_promotion_never_leaves_an_unaudited_current(home: Path, when: str):
    root = home / "registry"
    first = register(root, "a")
    candidate = register(root, "b", promote=False)
    done = subprocess.run([sys.executable, "-c", KILL, str(root), candidate, when],
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == (0 if when == "never" else -9), done.stderr
    record = Registry(root).promotion()
    audited = [e.detail for e in _entries("model_promotion")]
    if record["version"] == candidate:  # promoted: its own audit entry must exist
        assert any(f"promotion {record['id']}:" in d for d in audited)
    else:
        assert record["version"] == first
    assert (record["version"] == candidate) == (when == "never")
