"""Errors the store raises, so the service layer can tell a user what to do next."""

from __future__ import annotations


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
