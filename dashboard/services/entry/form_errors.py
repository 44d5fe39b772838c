"""Form problems grouped by field, and the one mapping from store/validation errors to them.

Every write of the Data entry and progress pages goes through ``as_form_errors``, so a
duplicate, a stale edit or a validation error reads the same on every form.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

from dashboard.services.access import record_failure
from dashboard.services.workspace import Workspace
from models.contract.validation import InputValidationError
from records.errors import DuplicateRecordError, RecordError, StaleRecordError
from records.person_match import OnFile
from records.security.policy import IDENTIFIED

GENERAL = "_general"  # FormErrors key for problems that belong to no single field


class FormErrors(Exception):
    """Validation problems of one form, grouped by field name (``GENERAL`` for the rest)."""

    def __init__(self, by_field: Mapping[str, list[str]]) -> None:
        self.by_field = {k: list(v) for k, v in by_field.items() if v}
        super().__init__("; ".join(f"{k}: {m}" for k, ms in self.by_field.items() for m in ms))

    @classmethod
    def general(cls, message: str) -> FormErrors:
        """One problem that belongs to the whole form."""
        return cls({GENERAL: [message]})

    @classmethod
    def from_validation(cls, error: InputValidationError) -> FormErrors:
        """Every row error of a validation, under its column, in form wording."""
        grouped: dict[str, list[str]] = {}
        for item in error.errors:
            grouped.setdefault(item.column or GENERAL, []).append(form_wording(item.message))
        return cls(grouped)


_MISSING = "missing value; "


def form_wording(message: str) -> str:
    """A validation message as a form shows it under a field ("Required: enter an integer
    from 0 to 27 points."), since a form has no cells, rows or yes/no codes."""
    if message.startswith(_MISSING + "expected "):
        allowed = message[len(_MISSING + "expected "):]
        if allowed.startswith("true/false"):
            return "Required: answer yes or no."
        if allowed.startswith("one of "):
            return "Required: choose one of the options."
        return f"Required: enter {allowed}."
    if message.startswith(_MISSING):
        return f"Required: {message[len(_MISSING):]}."
    return message[:1].upper() + message[1:]


class SamePersonErrors(FormErrors):
    """A patient with the same name is on file (``matches``); Add patient asks the clinician
    to open that record or confirm a different person."""

    def __init__(self, matches: Sequence[OnFile]) -> None:
        self.matches = list(matches)
        listed = "; ".join(f"{m.patient_id} (age {m.age}, {m.sex}, added {m.added})"
                           for m in self.matches)
        super().__init__({"name": [
            f"A patient with this name is already on file: {listed}. If it is the same "
            "person, open that record instead (Edit patient); if it is a different person, "
            "tick \"A different person\" below and add again."]})


class StaleEditError(Exception):
    """Someone else saved the patient (or session) after this form was opened."""


@contextmanager
def as_form_errors(ws: Workspace, action: str, patient_id: str | None,
                   duplicate_field: str | None = None,
                   audit_every_failure: bool = False) -> Iterator[None]:
    """Turn the store's and the validator's exceptions into ``FormErrors`` / ``StaleEditError``.

    Refusals that say something about the record (a duplicate, a stale edit) are audited as
    failed ``action``s; with ``audit_every_failure`` every refusal is.
    """
    try:
        yield
    except InputValidationError as error:
        raise FormErrors.from_validation(error) from error
    except StaleRecordError as error:
        record_failure(ws, action, IDENTIFIED, patient_id, error)
        raise StaleEditError(str(error)) from error
    except DuplicateRecordError as error:
        record_failure(ws, action, IDENTIFIED, patient_id, error)
        field = duplicate_field or GENERAL
        raise FormErrors({field: [str(error)]}) from error
    except (RecordError, ValueError) as error:
        if audit_every_failure:
            record_failure(ws, action, IDENTIFIED, patient_id, error)
        raise FormErrors.general(str(error)) from error
