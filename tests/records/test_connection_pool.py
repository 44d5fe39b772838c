"""Issue 31 load test: twenty clinicians signing in at once each hold a store connection
through the password hash; with SQLAlchemy's default pool (5 + 10) the sixteenth waited 30 s
and saw an exception box. A SQLite store's engine keeps a pool as large as the dashboard's
busy threads (the file still allows one writer at a time)."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import text

from records.db import make_engine


def test_thirty_sessions_holding_a_connection_at_once_all_get_one(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'store.sqlite3'}", pool_timeout=2)
    holding, release, errors = threading.Barrier(31), threading.Event(), []

    def clinician() -> None:
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
                holding.wait(timeout=20)  # all thirty hold a connection at the same time
                release.wait(timeout=20)
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)
            holding.abort()

    threads = [threading.Thread(target=clinician) for _ in range(30)]
    for thread in threads:
        thread.start()
    try:
        holding.wait(timeout=20)
    finally:
        release.set()
        for thread in threads:
            thread.join()
    assert not errors, errors[:2]
    engine.dispose()
