"""Reading follow-up visits back from FHIR (the shape ``interop.fhir.exporter.followup`` writes).

Observations linked to a follow-up Encounter are visit measurements: they never become the
patient's screening values nor dated readings for ``interop.fhir.importer.followup``. A visit with
nothing readable, or without its day after the series, is named in the warnings and not
imported. Storing goes through ``records.followup.record.add_visit`` (its validation), and a visit
already stored for the same day and time is not stored twice.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from interop.fhir import codes
from interop.fhir.exporter.followup import MEASURES
from interop.fhir.importer.parse import Entry
from interop.fhir.refs import ReferenceIndex, reference_of
from interop.fhir.session_codes import FOLLOWUP_MEASURE, is_followup_encounter
from interop.fhir.util import Draft, codings, parse_time

log = logging.getLogger(__name__)


def _read(kind: str, res: Mapping[str, Any]) -> Any:
    if kind == "bool":
        value = res.get("valueBoolean")
        return value if isinstance(value, bool) else None
    if kind == "text":
        value = res.get("valueString")
        return value if isinstance(value, str) else None
    value = res.get("valueInteger")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def read_visits(entries: list[Entry], draft: Draft) -> list[dict[str, Any]]:
    """Visit rows (``records.followup.record.VISIT_FIELDS``) from follow-up Encounters."""
    encounters = [e for e in entries if is_followup_encounter(e.resource)]
    index = ReferenceIndex(encounters)
    rows: dict[int, dict[str, Any]] = {id(e): {"visit_at": parse_time(
        (e.resource.get("period") or {}).get("start"))} for e in encounters}
    for entry in entries:
        if entry.type != "Observation" or entry.resource.get("status") not in \
                codes.OBSERVATION_STATUS_OK:
            continue
        target = index.resolve(reference_of(entry.resource.get("encounter")), entry)
        code = next((c for s, c, _ in codings(entry.resource.get("code"))
                     if s == FOLLOWUP_MEASURE), None)
        if target is None or code not in MEASURES:
            continue
        value = _read(MEASURES[code][2], entry.resource)
        if value is None:
            draft.warn(f"{entry.ref}: {MEASURES[code][0]} could not be read; not imported")
            continue
        rows[id(target)][code] = value
    out = []
    for encounter in encounters:
        row = rows[id(encounter)]
        if row.get("day_after_series") is None and row["visit_at"] is None:
            draft.warn(f"{encounter.ref}: follow-up visit without a date or day after the "
                       "series; not imported")
            continue
        out.append(row)
    return sorted(out, key=lambda r: (r.get("day_after_series") or 0))


def store_visits(session: Session, patient_id: str, rows: Sequence[Mapping[str, Any]]) -> int:
    """Add the imported visits not yet stored (flushes; the caller commits)."""
    from records.followup.record import add_visit
    from records.lookup import require_patient
    from records.tables.followup import FollowupVisit

    patient = require_patient(session, patient_id)
    known = {(v.visit_at, v.day_after_series) for v in session.scalars(
        select(FollowupVisit).where(FollowupVisit.patient_pk == patient.id))}
    added = 0
    for row in rows:
        if (row.get("visit_at"), row.get("day_after_series")) in known:
            continue
        add_visit(session, patient_id, dict(row), source="fhir", require_time=False)
        added += 1
    log.info("FHIR: %d follow-up visit(s) of patient %s from follow-up Encounters", added,
             patient_id)
    return added
