"""Append-only tables: refused by the ORM and, whoever connects, by the database itself.

One mechanism for every table that is history (clinical decisions, the audit log): an ORM
guard that raises ``AppendOnlyError`` on update/delete, and triggers that make SQLite and
PostgreSQL abort any UPDATE or DELETE (raw SQL, bulk ORM statements, other tools).

The trigger SQL is used by migrations, so it is history too: change it only together with a
new revision, never in place.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from records.errors import AppendOnlyError


def guard(cls: type, label: str, hint: str) -> None:
    """Make the ORM refuse to update or delete ``cls`` rows (``label`` names one in errors)."""

    def refuse_update(_mapper: Any, _connection: Any, target: Any) -> None:
        raise AppendOnlyError(f"{label} {target.id} is append-only and cannot be changed; "
                              f"{hint}")

    def refuse_delete(_mapper: Any, _connection: Any, target: Any) -> None:
        raise AppendOnlyError(f"{label} {target.id} is append-only and cannot be deleted")

    event.listen(cls, "before_update", refuse_update)
    event.listen(cls, "before_delete", refuse_delete)


def create_triggers(op: Any, table: str, message: str, truncate: bool = False) -> None:
    """In a migration: make the database refuse UPDATE/DELETE on ``table``.

    ``truncate`` also refuses PostgreSQL's TRUNCATE (which skips row triggers); SQLite has
    no TRUNCATE.
    """
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for action in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON "
                       f"{table} BEGIN SELECT RAISE(ABORT, '{message}'); END")
    elif dialect == "postgresql":
        op.execute(f"CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql "
                   f"AS $$ BEGIN RAISE EXCEPTION '{message}'; END $$")
        op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()")
        if truncate:
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                       f"FOR EACH STATEMENT EXECUTE FUNCTION {table}_append_only()")


def drop_triggers(op: Any, table: str) -> None:
    """In a migration's downgrade: remove what ``create_triggers`` made."""
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
    elif dialect == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {table}_append_only()")
