"""Idempotent form writes: a submission token is used once, enforced by the store.

A dashboard form is rendered with a fresh token (``dashboard.widgets.entry.submission``). The
write that saves it calls ``submit_once`` inside its own unit of work: the token row is
inserted and flushed *before* the record, so a second transaction with the same token — a
double click, a second request, a retry after a lost answer — stops at the unique
constraint (on SQLite it waits for the first to commit; on PostgreSQL the unique index
blocks it until then) and is handed the first submission's result instead of writing
again. The same token with different content (or from another form) is refused: it is
never silently answered with a record that does not match what was submitted.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from records.errors import RecordError
from records.tables.submissions import FORM_LENGTH, TOKEN_LENGTH, FormSubmission

log = logging.getLogger(__name__)


class SubmissionConflictError(RecordError):
    """The token was used for a different submission (other form or other content)."""


@dataclass(frozen=True)
class Submitted:
    """What a submission stored (``result``, JSON-ready) and whether it was a repeat."""

    result: Any
    repeated: bool


def fingerprint(form: str, values: Mapping[str, Any]) -> str:
    """SHA-256 of a form's name and submitted values (canonical JSON; dates as text)."""
    text = json.dumps({"form": form, "values": dict(values)}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _check_token(token: str, form: str) -> None:
    if not token or len(token) > TOKEN_LENGTH or not token.isascii():
        raise ValueError(f"a submission token is 1-{TOKEN_LENGTH} ASCII characters")
    if not form or len(form) > FORM_LENGTH:
        raise ValueError(f"a form name is 1-{FORM_LENGTH} characters")


def find(session: Session, token: str) -> FormSubmission | None:
    """The submission made with ``token`` (None if it was never used)."""
    stmt = (select(FormSubmission).where(FormSubmission.token == token)
            .execution_options(populate_existing=True))
    return session.scalars(stmt).one_or_none()


def _answer(prior: FormSubmission, form: str, digest: str) -> Submitted:
    """The first submission's result, if the repeat is the same submission."""
    if prior.form != form or prior.fingerprint != digest:
        raise SubmissionConflictError(
            "this form was already saved, and what was submitted now differs from what was "
            "saved then; nothing new was stored. Open the form again to enter a new record.")
    log.info("repeated %s submission answered with the first result", form)
    return Submitted(json.loads(prior.result) if prior.result is not None else None, True)


def _claim(session: Session, token: str, form: str, digest: str,
           username: str | None) -> FormSubmission | None:
    """Insert the token row (flushed, not committed); the earlier row if the token is used.

    Must be the unit of work's first write: on a unique-constraint clash the session is
    rolled back, which must lose nothing of the caller's.
    """
    prior = find(session, token)
    if prior is not None:
        return prior
    row = FormSubmission(token=token, form=form, fingerprint=digest, username=username)
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()  # another transaction with this token committed first
        prior = find(session, token)
        if prior is None:
            raise
        return prior
    return None


def submit_once(session: Session, token: str | None, form: str, values: Mapping[str, Any],
                write: Callable[[], Any], *, username: str | None = None) -> Submitted:
    """Run ``write`` (which adds the record to ``session``) at most once per ``token``.

    ``write`` returns a JSON-ready result (an id, a version, a count); a repeat of the same
    submission returns the first one's result without calling ``write``. ``token`` None
    writes unconditionally (the command line, which has no rendered form). The caller
    commits; the token row and the record commit or roll back together.
    """
    if token is None:
        return Submitted(write(), False)
    _check_token(token, form)
    digest = fingerprint(form, values)
    prior = _claim(session, token, form, digest, username)
    if prior is not None:
        return _answer(prior, form, digest)
    result = write()
    row = find(session, token)
    assert row is not None  # flushed above, in this transaction
    row.result = json.dumps(result, default=str)
    session.flush()
    return Submitted(result, False)


def count(session: Session, form: str | None = None) -> int:
    """How many submissions the store holds (of ``form``); for tests and the audit."""
    stmt = select(FormSubmission.id)
    if form is not None:
        stmt = stmt.where(FormSubmission.form == form)
    return len(session.scalars(stmt).all())
