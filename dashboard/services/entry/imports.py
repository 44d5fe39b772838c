"""CSV imports from the Data entry page: all-or-nothing, with a row-by-row error table.

Uploads are parsed as CSV text only (never unpickled) in a private temporary folder. An
import is one submission (``records.submissions``): the same upload sent twice by a double
click stores once and answers with the first import's counts.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from base.safety import UnsafePathError, safe_path
from dashboard.services.access import record_failure, require
from dashboard.services.workspace import Workspace
from models.contract.csv_input import read_csv_strict
from models.contract.schema import ID_COLUMN
from models.contract.validation import InputValidationError, RowError
from records.audit import trail as audit
from records.db import session_factory
from records.errors import RecordError
from records.repository import import_patients_and_sessions
from records.security.policy import IDENTIFIED
from records.submissions import submit_once

log = logging.getLogger(__name__)


def upload_digest(*uploads: tuple[str, bytes] | None) -> dict[str, str | None]:
    """What identifies uploaded files for a submission: each name and SHA-256."""
    return {f"file{i}": None if u is None else f"{u[0]}:{hashlib.sha256(u[1]).hexdigest()}"
            for i, u in enumerate(uploads)}


@dataclass
class ImportOutcome:
    """Either what was saved, or every problem found (and nothing saved)."""

    patients: int = 0
    sessions: int = 0
    errors: pd.DataFrame = field(default_factory=pd.DataFrame)
    repeated: bool = False  # the same upload was already imported from this form

    @property
    def ok(self) -> bool:
        return self.errors.empty


ERROR_COLUMNS = ["file", "row", "column", "problem"]


def _error_table(errors: list[RowError], source: str) -> pd.DataFrame:
    return pd.DataFrame([{"file": source, "row": e.row, "column": e.column or "",
                          "problem": e.message} for e in errors], columns=ERROR_COLUMNS)


def repeated_outcome(result: object) -> ImportOutcome:
    """The first import's counts, for a repeated submission of the same upload."""
    counts = result if isinstance(result, dict) else {}
    return ImportOutcome(patients=int(counts.get("patients", 0)),
                         sessions=int(counts.get("sessions", 0)), repeated=True)


def import_csv(ws: Workspace, patients: tuple[str, bytes] | None,
               sessions: tuple[str, bytes] | None, *, token: str | None = None) -> ImportOutcome:
    """Import uploaded ``(file name, bytes)`` CSVs all-or-nothing, with a row-by-row report.

    Uploads are parsed as CSV text only (never unpickled) in a private temporary folder.
    ``token``: the form's submission token (a repeat answers with the first counts).
    """
    if patients is None and sessions is None:
        return ImportOutcome(errors=_error_table(
            [RowError(None, None, "upload a patients file, a sessions file or both")], ""))
    frames: dict[str, pd.DataFrame] = {}
    problems: list[pd.DataFrame] = []
    with tempfile.TemporaryDirectory(prefix="kapcds-import-") as folder:
        for key, upload in (("patients", patients), ("sessions", sessions)):
            if upload is None:
                continue
            name, data = upload
            try:
                path = safe_path(folder, Path(str(name)).name or f"{key}.csv")
            except UnsafePathError as error:
                problems.append(_error_table([RowError(None, None, str(error))], key))
                continue
            path.write_bytes(data)
            try:
                frames[key] = read_csv_strict(path)
            except InputValidationError as error:
                problems.append(_error_table(error.errors, path.name))
    if problems:
        return ImportOutcome(errors=pd.concat(problems, ignore_index=True))
    actor = require(ws, IDENTIFIED)
    patients_df = frames.get("patients", pd.DataFrame(columns=[ID_COLUMN]))
    sessions_df = frames.get("sessions")
    files = ", ".join(f"{upload[0]}" for upload in (patients, sessions) if upload)
    detail = (f"{len(patients_df)} patients, {0 if sessions_df is None else len(sessions_df)} "
              f"sessions from {files}")
    def write() -> dict[str, int]:
        audit.record(session, actor, "import", IDENTIFIED, detail=detail)  # same commit
        summary = import_patients_and_sessions(session, patients_df, sessions_df)
        return {"patients": summary.patients, "sessions": summary.sessions}

    try:
        with session_factory(ws.engine)() as session:
            done = submit_once(session, token, "csv_import", upload_digest(patients, sessions),
                               write, username=actor.username)
            session.commit()  # the result of the import (committed with the token above)
    except InputValidationError as error:
        return ImportOutcome(errors=_error_table(error.errors, error.source or ""))
    except RecordError as error:
        record_failure(ws, "import", IDENTIFIED, None, error)
        return ImportOutcome(errors=_error_table([RowError(None, None, str(error))], ""))
    if done.repeated:
        return repeated_outcome(done.result)
    log.info("dashboard import: %(patients)d patients, %(sessions)d sessions", done.result)
    return ImportOutcome(patients=done.result["patients"], sessions=done.result["sessions"])
