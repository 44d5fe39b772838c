"""Issue 24, attack 3 (restore half): `kapcds restore --force` of a signed backup plus one
unlisted folder replaced the database, then failed on the registry: half a restore, no
audit entry, and the replaced store left as `kapcds.sqlite3.before-restore-*` with mode
0644. Restore now checks everything before it replaces the first byte."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import pytest
from security_helpers import patient, register
from sqlalchemy import Engine, select

from base import settings
from records import repository
from records.backup.create import BackupError, backup
from records.backup.restore import restore
from records.db import make_engine, session_factory
from records.migrate import upgrade
from records.tables.security import AuditEntry


@pytest.fixture
def store() -> Engine:
    engine = make_engine()
    upgrade(engine)
    with session_factory(engine)() as db:
        repository.add_patient(db, patient(1))
        db.commit()
    register(settings.default_registry_dir(), "backed-up")
    yield engine
    engine.dispose()


def _add_later_patient(engine: Engine) -> None:
    with session_factory(engine)() as db:
        repository.add_patient(db, patient(2))
        db.commit()


def test_an_unlisted_folder_in_a_signed_backup_changes_nothing(store: Engine, tmp_path: Path):
    backup(tmp_path / "bk")
    planted = tmp_path / "bk" / "registry" / "versions" / "20260101T000000Z-evil00"
    planted.mkdir(parents=True)
    shutil.copy(next((tmp_path / "bk" / "registry" / "versions").glob("2*/model_set.json")),
                planted / "model_set.json")
    _add_later_patient(store)
    database = settings.home_dir() / "kapcds.sqlite3"
    before = database.read_bytes()
    with pytest.raises(BackupError, match="does not list"):
        restore(tmp_path / "bk", force=True)
    with session_factory(store)() as db:
        assert repository.get_patient(db, "KAP-00002") is not None  # store not replaced
        last = db.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert (last.action, last.outcome) == ("restore", "failure")
    assert "does not list" in last.detail
    assert not list(settings.home_dir().glob("*before-restore*"))
    assert database.read_bytes()[:100] == before[:100]


def test_the_replaced_store_is_kept_owner_only(store: Engine, tmp_path: Path):
    backup(tmp_path / "bk")
    _add_later_patient(store)
    restore(tmp_path / "bk", force=True)
    kept = list(settings.home_dir().glob("before-restore-*/kapcds.sqlite3"))
    assert len(kept) == 1
    assert stat.S_IMODE(kept[0].parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(kept[0].stat().st_mode) == 0o600
    assert not list(settings.home_dir().glob("kapcds.sqlite3.before-restore-*"))
