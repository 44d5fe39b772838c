"""Adding a stored patient's sessions that came from another system (FHIR), all or nothing.

The form path (``records.treatment_sessions``) asks for a session time and confirms numbers
past the plan; an import brings what the source recorded: ``session_at`` stays NULL
("not recorded") when the source has no date, and ``carried_forward`` and
``past_plan_confirmed`` stay NULL ("not asked"). A session number already stored is kept as
it is (the store is the record of care) and reported; nothing is overwritten silently.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from models.clinical.session_monitoring import MONITORING_COLUMNS, TIMES
from models.clinical.session_record import SESSION_TIME
from models.contract.schema import ID_COLUMN
from models.contract.validation import validate_sessions
from records.lookup import require_patient
from records.rows import SESSION_TYPES, frame_records
from records.tables.clinical import SESSION_COLUMNS, TreatmentSession
from records.treatment_sessions import MONITORING_TYPES, PHASES, SESSION_EXTRAS

log = logging.getLogger(__name__)


@dataclass
class SessionImport:
    """What ``add_imported_sessions`` did: numbers added, and stored ones it left alone."""

    added: list[int] = field(default_factory=list)
    kept: list[int] = field(default_factory=list)  # already stored with the same values
    differing: list[int] = field(default_factory=list)  # already stored, source differs

    def summary(self) -> str:
        """One line for people (empty when the import had no sessions)."""
        parts = []
        if self.added:
            parts.append(f"{len(self.added)} session(s) added")
        if self.kept:
            parts.append(f"{len(self.kept)} already stored")
        if self.differing:
            parts.append("stored session(s) " + ", ".join(map(str, self.differing))
                         + " differ from the source and were kept as stored; correct them "
                         "on the progress page if the source is right")
        return "; ".join(parts)


def _plain(value: Any) -> Any:
    """None for pandas' missing markers (NaT, NaN); a datetime for a Timestamp."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return value.to_pydatetime() if isinstance(value, pd.Timestamp) else value


def _same(record: TreatmentSession, row: Mapping[str, Any]) -> bool:
    return all(getattr(record, k) == row[k] for k in SESSION_COLUMNS)


def add_imported_sessions(session: Session, patient_id: str,
                          rows: Sequence[Mapping[str, Any]]) -> SessionImport:
    """Validate and add the sessions not yet stored (no commit: the caller's transaction).

    Raises ``InputValidationError`` naming each bad session (row n = the n-th session of
    the source, in session-number order) before anything is added.
    """
    outcome = SessionImport()
    if not rows:
        return outcome
    patient = require_patient(session, patient_id)
    given = [c for c in MONITORING_COLUMNS if any(row.get(c) is not None for row in rows)]
    frame = pd.DataFrame([{**{k: row.get(k) for k in (*SESSION_COLUMNS, *given)},
                           SESSION_TIME: row.get(SESSION_TIME), ID_COLUMN: patient_id}
                          for row in rows])
    typed = validate_sessions(frame, known_patient_ids=[patient_id],
                              source=f"sessions imported for patient {patient_id}")
    records = frame_records(typed, {k: SESSION_TYPES[k] for k in SESSION_COLUMNS})
    kinds = {k: MONITORING_TYPES[k] for k in given if k in MONITORING_TYPES}
    monitoring = frame_records(typed, kinds) if kinds else [{} for _ in records]
    for position, record in enumerate(monitoring):
        record.update({t: typed[t].iloc[position] for t in TIMES if t in given})
    stored = {s.session_number: s for s in session.scalars(
        select(TreatmentSession).where(TreatmentSession.patient_pk == patient.id))}
    for row, watch, source, moment in zip(records, monitoring, rows, typed[SESSION_TIME],
                                          strict=True):
        number = int(row["session_number"])
        if number in stored:
            (outcome.kept if _same(stored[number], row) else outcome.differing).append(number)
            continue
        extras = {k: (str(source[k]).strip() or None) if source.get(k) is not None else None
                  for k in SESSION_EXTRAS}
        phase = source.get("phase") or "induction"
        if phase not in PHASES:
            raise ValueError(f"session {number}: phase {phase!r} is not one of "
                             f"{', '.join(PHASES)}")
        session.add(TreatmentSession(patient=patient, **row, session_at=moment, **extras,
                                     phase=phase,
                                     **{k: _plain(v) for k, v in watch.items()}))
        outcome.added.append(number)
    session.flush()
    log.info("patient %s: %s", patient_id, outcome.summary() or "no sessions")
    return outcome
