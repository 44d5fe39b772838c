"""PHQ-9 and GAD-7 Observations dated after the induction series become follow-up visits.

A FHIR import maps the latest PHQ-9/GAD-7 to the patient's baseline features; every dated
reading is also kept (``fhir_observations.SCALE_READINGS``). Those taken after the day of
the patient's last stored induction session are follow-up measurements: readings of the
same day form one visit (``source = 'fhir'``, its time the earliest reading's). Readings on
or before that day belong to the series, and a patient without a dated induction session
gets no follow-up from FHIR (nothing to date it after). A visit already imported at the
same time is not imported twice.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from base.settings import clinic_timezone
from interop.fhir.importer.observations import SCALE_READINGS
from records.followup.record import add_visit, series_end
from records.tables.clinical import Patient
from records.tables.followup import FollowupVisit

log = logging.getLogger(__name__)


def followup_readings(extras: dict[str, Any], after: datetime) -> dict[str, dict[str, Any]]:
    """Readings dated on a later day than ``after`` grouped by clinic day:
    ``{day: {"visit_at": earliest time, "phq9": value, "gad7": value}}`` (latest per scale)."""
    zone = clinic_timezone()
    end_day = after.astimezone(zone).date()
    visits: dict[str, dict[str, Any]] = {}
    for reading in sorted(extras.get(SCALE_READINGS, []), key=lambda r: r["when"]):
        when: datetime = reading["when"]
        if when.astimezone(zone).date() <= end_day:
            continue
        visit = visits.setdefault(when.astimezone(zone).date().isoformat(), {"visit_at": when})
        visit[reading["scale"]] = int(round(float(reading["value"])))
    return visits


def store_followup(session: Session, patient: Patient, extras: dict[str, Any]) -> int:
    """Add the follow-up visits the readings give (flushes; the caller commits)."""
    end = series_end(session, patient)
    if end is None or end.session_at is None:
        return 0
    known = set(session.scalars(select(FollowupVisit.visit_at).where(
        FollowupVisit.patient_pk == patient.id)))
    added = 0
    for values in followup_readings(extras, end.session_at).values():
        if values["visit_at"] in known:
            continue
        add_visit(session, patient.patient_id, values, source="fhir")
        added += 1
    if added:
        log.info("FHIR: %d follow-up visit(s) for patient %s", added, patient.patient_id)
    return added
