"""Bring a database to the newest schema by running Alembic from code.

The Alembic config is built here (no ``alembic.ini``), with ``script_location`` pointing at
this package's ``migrations`` folder, so it works from an installed package and any CWD.
Developers make a new revision with ``python -m records.migrate revision -m "what"``.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

from records.db import make_engine

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config for this package's migrations (``url`` only for URL-based runs)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str:
    """The newest revision the code knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "records/migrations has no revisions"
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None for an empty database)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@contextmanager
def _migration_connection(engine: Engine) -> Iterator[Connection]:
    """A connection in one transaction for Alembic; on SQLite with foreign keys off meanwhile.

    SQLite rebuilds a table to change a column (batch mode); dropping a table that others
    reference fails while foreign keys are on, and the pragma is ignored inside a
    transaction. So (SQLite's documented procedure) keys are off for the migration, checked
    with ``PRAGMA foreign_key_check`` before the commit, and turned back on after it.
    """
    if engine.dialect.name != "sqlite":
        with engine.begin() as conn:
            yield conn
        return
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        conn.commit()
        try:
            with conn.begin():
                yield conn
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
                if broken:
                    raise RuntimeError(f"migration left broken foreign keys: {broken[:5]}")
        finally:
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")
            conn.commit()


def upgrade(engine_or_url: Engine | str | None = None, revision: str = "head") -> None:
    """Upgrade the database to ``revision``; a no-op when it is already there.

    Takes an engine (kept open) or a URL (default: ``base.settings.default_database_url``).
    """
    owned = not isinstance(engine_or_url, Engine)
    engine = make_engine(engine_or_url) if owned else engine_or_url
    try:
        config = alembic_config()
        with _migration_connection(engine) as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
        log.info("clinical store at revision %s (%s)", current_revision(engine),
                 engine.url.render_as_string(hide_password=True))
    finally:
        if owned:
            engine.dispose()


def downgrade(engine: Engine, revision: str) -> None:
    """Downgrade to ``revision`` (``"base"`` drops everything; for tests and rollbacks)."""
    config = alembic_config()
    with _migration_connection(engine) as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)


def main(argv: list[str] | None = None) -> None:
    """Developer entry point: ``upgrade [URL]`` or ``revision -m MESSAGE``."""
    parser = argparse.ArgumentParser(prog="python -m records.migrate")
    sub = parser.add_subparsers(dest="action", required=True)
    up = sub.add_parser("upgrade", help="upgrade a database to the newest revision")
    up.add_argument("url", nargs="?", help="database URL (default: the configured store)")
    rev = sub.add_parser("revision", help="write an empty new revision to fill in by hand")
    rev.add_argument("-m", "--message", required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.action == "upgrade":
        upgrade(args.url)
    else:
        command.revision(alembic_config(), message=args.message)


if __name__ == "__main__":
    main()
