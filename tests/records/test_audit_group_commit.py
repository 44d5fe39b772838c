"""Issue 31, item 5: audit checkpoints are group-committed within a process. A commit whose
entries a checkpoint of this process already anchored writes none; a checkpoint written by
another process since (or a restore's new epoch) is never taken on trust; concurrent
writers still leave every entry anchored."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine

from base import settings
from records.audit import checkpoints
from records.audit import trail as audit
from records.db import make_engine, session_factory
from records.migrate import upgrade
from records.security.policy import SECURITY, Actor

ADMIN = Actor("cli:root", "system")


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Engine:
    monkeypatch.setenv("KAPCDS_DATABASE_URL", f"sqlite:///{tmp_path / 'store.db'}")
    monkeypatch.setenv("KAPCDS_AUDIT_CHECKPOINT_FILE", str(tmp_path / "checkpoints.jsonl"))
    engine = make_engine()
    upgrade(engine)
    return engine


def _lines() -> int:
    return len(settings.audit_checkpoint_file().read_bytes().splitlines())


def _verified(engine: Engine) -> audit.ChainReport:
    with session_factory(engine)() as db:
        return audit.verify(db)


def test_an_entry_already_anchored_by_this_process_writes_no_checkpoint(store: Engine) -> None:
    entry = audit.record_now(store, ADMIN, "user_create", SECURITY, detail="ana")
    before = _lines()
    assert checkpoints.write(store, "again", covering=entry.id) is None
    assert _lines() == before
    # a newer entry than the last checkpoint is anchored as before
    assert checkpoints.write(store, "no entry yet", covering=entry.id + 1) is not None


def test_a_checkpoint_of_another_process_is_not_taken_on_trust(store: Engine) -> None:
    entry = audit.record_now(store, ADMIN, "user_create", SECURITY, detail="ana")
    code = ("from records.audit import trail; from records.db import make_engine; "
            "from records.security.policy import SECURITY, Actor; "
            "trail.record_now(make_engine(), Actor('cli:other', 'system'), 'user_create', "
            "SECURITY, detail='ben')")
    subprocess.run([sys.executable, "-c", code], check=True, env=dict(os.environ),
                   cwd=Path(__file__).resolve().parents[2], timeout=120)
    newest = checkpoints.store_identity(store)
    assert newest is not None and newest[1] == 2  # the other process wrote checkpoint 2
    # this process's memory says entry 1 is covered, but the store moved on: the full
    # check runs and answers with the store's newest checkpoint
    again = checkpoints.write(store, "check", covering=entry.id)
    assert again is not None and again.seq == 2 and again.entries == 2
    assert _verified(store).ok


def test_concurrent_writers_leave_every_entry_anchored(store: Engine) -> None:
    def work(n: int) -> None:
        for i in range(6):
            audit.record_now(store, Actor(f"cli:w{n}", "system"), "user_create", SECURITY,
                             detail=f"{n}-{i}")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    report = _verified(store)
    assert report.ok, report
    assert report.entries == 36
    assert _lines() <= 36
