"""Errors the store raises, so the service layer can tell a user what to do next."""

from __future__ import annotations

import errno
import sqlite3


class RecordError(Exception):
    """Base class for every clinical-store error."""


class RecordNotFoundError(RecordError, LookupError):
    """The patient (or record) asked for is not in the store."""


class StaleRecordError(RecordError):
    """Someone else saved the record since it was read: reload, re-apply, save again.

    Raised instead of silently overwriting their change (no lost updates).
    """


class DuplicateRecordError(RecordError, ValueError):
    """A record with the same identity (patient_id, or patient + session number) exists."""


class AppendOnlyError(RecordError):
    """Clinical decisions are never changed or removed once recorded."""


class RecordImportError(RecordError):
    """The database refused an import; nothing from it was saved."""


class LastAdminError(RecordError):
    """The change would leave no active administrator, so nobody could manage accounts."""


class StorageError(RecordError):
    """The data folder cannot be written (read-only, full): one line saying which and what
    to do (issue 24: raw SQLAlchemy text used to reach the user)."""


_READ_ONLY = ("readonly database", "read-only file system", "permission denied")
_FULL = ("database or disk is full", "no space left on device", "disk quota exceeded")
_UNOPENABLE = ("unable to open database file",)


def _chain(error: BaseException) -> list[BaseException]:
    """The error, what it wraps (SQLAlchemy's ``orig``) and its causes."""
    found: list[BaseException] = []
    todo: list[BaseException | None] = [error]
    while todo:
        current = todo.pop()
        if current is None or current in found or len(found) > 20:
            continue
        found.append(current)
        todo += [getattr(current, "orig", None), current.__cause__, current.__context__]
    return found


def storage_problem(error: BaseException, folder: object = None) -> str | None:
    """A one-line explanation if ``error`` comes from a read-only or full data folder (or a
    store that cannot be opened), else None."""
    where = f"the data folder {folder}" if folder else "the data folder"
    for item in _chain(error):
        code = getattr(item, "errno", None)
        text = str(item).lower()
        if not isinstance(item, (OSError, sqlite3.Error)) and "sqlite" not in \
                type(item).__module__:
            continue
        if code in (errno.ENOSPC, errno.EDQUOT) or any(t in text for t in _FULL):
            return (f"{where} is full: nothing was saved. Free space there (or move "
                    "KAPCDS_HOME) and try again")
        if code in (errno.EROFS, errno.EACCES, errno.EPERM) or any(t in text
                                                                   for t in _READ_ONLY):
            return (f"{where} is read-only for this account: nothing was saved. Make it "
                    "writable, or set KAPCDS_HOME to a writable folder")
        if any(t in text for t in _UNOPENABLE):
            return (f"the store in {where.removeprefix('the ')} cannot be opened: the "
                    "folder is missing, read-only or not accessible to this account")
    return None
