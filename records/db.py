"""Engine and session construction for the clinical store.

SQLite is the embedded default; every SQLite connection gets WAL (readers do not block the
single writer, which suits a dashboard with several users) and enforced foreign keys
(SQLite leaves them off unless asked on each connection).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from base.settings import default_database_url

log = logging.getLogger(__name__)


def _sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL, or None for in-memory / non-SQLite URLs."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database).expanduser()


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def ensure_private_file(path: Path) -> None:
    """The SQLite store readable by its owner only (0600), created so before SQLite opens it.

    SQLite gives its -wal/-shm files the database file's permissions, so they follow.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    if path.stat().st_mode & 0o077:
        os.chmod(path, 0o600)
        log.warning("tightened %s to owner-only access (0600)", path)


SQLITE_POOL = 40  # connections kept, and as many more at peak, per SQLite file engine


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """An engine for ``url`` (default: ``KAPCDS_DATABASE_URL`` or the per-user SQLite file).

    Extra keyword arguments go to ``sqlalchemy.create_engine``.
    """
    url = url or default_database_url()
    path = _sqlite_file(url)
    if path is not None:
        ensure_private_file(path)
    parsed = make_url(url)
    is_sqlite = parsed.get_backend_name() == "sqlite"
    if is_sqlite:  # wait for the single writer rather than fail after pysqlite's 5 s
        kwargs["connect_args"] = {"timeout": 30, **kwargs.get("connect_args", {})}
        # A connection to a SQLite file is a file handle, and the file allows one writer
        # whatever the pool: a pool as large as the dashboard's busy threads. SQLAlchemy's
        # 5 + 10 made the 16th of twenty clinicians signing in at once (each holds its
        # connection through the password hash) fail after 30 s (issue 31 load test).
        if parsed.database not in (None, "", ":memory:"):
            kwargs.setdefault("pool_size", SQLITE_POOL)
            kwargs.setdefault("max_overflow", SQLITE_POOL)
    else:
        kwargs.setdefault("pool_pre_ping", True)  # a dashboard outlives server restarts
    engine = create_engine(url, **kwargs)
    if is_sqlite:
        event.listen(engine, "connect", _on_sqlite_connect)
    log.debug("engine for %s", engine.url.render_as_string(hide_password=True))
    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to ``engine``; objects stay readable after commit (no lazy reloads)."""
    return sessionmaker(bind=engine, expire_on_commit=False)
