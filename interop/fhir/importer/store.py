"""Saving an imported patient through ``records.repository`` (one transaction).

Issue 17/25: a re-imported patient is matched, never duplicated, and never merged with
another source's patient. ``Patient.identifier`` (``system|value``) is kept in
``import_source["identifiers"]``; a later import with one of those identifiers is the same
patient; only when no identifier matches, the same FHIR id *from the same source*
(``import_source["origin"]``: meta.source, the server of the fullUrl, or the input name)
is. An identifier without a system counts only within its source. The patient is then
updated by ``store_import``, which reports what changed, or refused
(``import_into_store``, and ``on_match="refuse"``). FHIR ids never become local ids or
file names: the patient gets a local id that follows ``models.contract.identifiers``, and the
original FHIR id is kept in ``import_source``.

Issue 7: a missing input is never guessed silently. An import with gaps is saved with the
gaps listed (``patients.data_gaps``; the column holds only a placeholder that is never
used to predict) and where it came from (``patients.import_source``); the clinician fills
the gaps later, or now via ``completions``. Predictions stay hidden until every model
input is filled in.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal

from interop.fhir.importer.parse import FhirImportError
from interop.fhir.importer.result import ImportResult, complete
from models.contract import schema
from models.contract.identifiers import safe_patient_id
from models.contract.schema import ID_COLUMN, NAME_COLUMN

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from records.tables.clinical import Patient

log = logging.getLogger(__name__)
DEFAULT_FORMAT = "FHIR R4"
GAP = "(missing)"  # how a gap's placeholder appears in an update line


class IncompleteImportError(FhirImportError):
    """Inputs are still missing and the caller asked for complete patients only."""

    def __init__(self, gaps: list[str]) -> None:
        self.gaps = gaps
        labels = ", ".join(f"{schema.feature(g).label} ({g})" for g in gaps)
        super().__init__(f"cannot save: {len(gaps)} input(s) were not in the FHIR data and "
                         f"have not been entered: {labels}. Nothing was saved.")


class ExistingPatientError(FhirImportError):
    """The imported FHIR patient is already in the store and the caller asked to refuse."""

    def __init__(self, patient_id: str, key: str) -> None:
        self.patient_id, self.key = patient_id, key
        super().__init__(f"this FHIR patient is already stored as {patient_id} (same "
                         f"{key}); nothing was saved. Import it as an update of "
                         f"{patient_id} instead of a new patient")


@dataclass
class StoredImport:
    """What ``store_import`` did: a new patient, or an update with what changed."""

    patient: Patient
    created: bool
    matched_on: str | None = None
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    followup_visits: int = 0  # PHQ-9/GAD-7 dated after the series (interop.fhir.importer.followup)
    sessions: str = ""  # what happened to the imported dosing sessions, for people

    def summary(self) -> str:
        """One line for people: ``KAP-00001 updated: phq9_baseline 18 → 21``."""
        more = (f"; {self.sessions}" if self.sessions else "") + (
            f"; {self.followup_visits} follow-up visit(s) from PHQ-9/GAD-7 after the "
            "series" if self.followup_visits else "")
        if self.created:
            return f"{self.patient.patient_id} created{more}"
        if not self.changes:
            return f"{self.patient.patient_id} matched ({self.matched_on}): no changes{more}"
        items = "; ".join(f"{k} {_shown(old)} → {_shown(new)}"
                          for k, (old, new) in self.changes.items())
        return f"{self.patient.patient_id} updated ({self.matched_on}): {items}{more}"


def _shown(value: Any) -> str:
    return value if value == GAP else repr(value)


def store_followup(session: Session, patient: Patient, extras: dict[str, Any]) -> int:
    """Follow-up visits from the readings dated after the series (``fhir_followup``)."""
    from interop.fhir.importer.followup import store_followup as store

    return store(session, patient, extras)


class DeceasedPatientError(FhirImportError):
    """The FHIR Patient is recorded as deceased: never stored as a treatment candidate."""

    def __init__(self, result: ImportResult) -> None:
        who = result.name or f"Patient/{result.fhir_patient_id or '(no id)'}"
        when = "" if result.deceased in (None, "yes") else f" on {str(result.deceased)[:10]}"
        super().__init__(f"{who} is recorded as deceased{when}; a deceased patient is not "
                         "imported as a treatment candidate. Nothing was saved for them")


def _identifier_keys(identifiers: list[str], origin: str | None) -> list[str]:
    """``system|value`` identifiers; one without a system only within its source."""
    return [f"identifier {i}" if not i.startswith("|") else f"identifier {origin}{i}"
            for i in identifiers]


def match_keys(result: ImportResult) -> tuple[list[str], list[str]]:
    """(identifier keys, FHIR-id keys): ``system|value`` first, then (source, FHIR id); a
    bare FHIR id is never a key across sources."""
    ids = _identifier_keys(result.identifiers, result.origin)
    fhir = [f"FHIR id {result.origin}|{result.fhir_patient_id}"] \
        if result.fhir_patient_id and result.origin else []
    return ids, fhir


def _stored_keys(source: Mapping[str, Any]) -> set[str]:
    origin = source.get("origin")
    keys = set(_identifier_keys(list(source.get("identifiers") or []), origin))
    keys |= {f"FHIR id {pair}" for pair in [*_fhir_pairs(source),
                                            *(source.get("fhir_ids") or [])]}
    return keys


def _fhir_pairs(source: Mapping[str, Any]) -> list[str]:
    """``origin|id`` of a stored import (none for records from before issue 25, which
    have no origin: their bare FHIR id is never matched)."""
    if source.get("fhir_patient_id") and source.get("origin"):
        return [f"{source['origin']}|{source['fhir_patient_id']}"]
    return []


def find_existing(session: Session, result: ImportResult) -> tuple[Patient, str] | None:
    """The stored patient this import is about (and the key that matched), if any:
    by identifier first; only when no identifier matches, by (source, FHIR id)."""
    from sqlalchemy import select

    from records.tables.clinical import Patient

    stored = [(p, _stored_keys(p.import_source or {})) for p in
              session.scalars(select(Patient).where(Patient.import_source.isnot(None)))]
    for wanted in match_keys(result):
        matches = [(p, sorted(keys.intersection(wanted))[0]) for p, keys in stored
                   if keys.intersection(wanted)]
        if len(matches) > 1:
            ids = ", ".join(p.patient_id for p, _ in matches)
            raise FhirImportError(f"this FHIR patient matches {len(matches)} stored patients "
                                  f"({ids}); resolve the duplicates first. Nothing was saved")
        if matches:
            return matches[0]
    return None


def import_source(result: ImportResult, source_format: str = DEFAULT_FORMAT) -> dict[str, Any]:
    """What ``patients.import_source`` records: format, FHIR id and identifiers, source ids,
    warnings, time."""
    return {"format": source_format, "fhir_patient_id": result.fhir_patient_id,
            "origin": result.origin, "identifiers": list(result.identifiers),
            "source_ids": list(result.source_ids), "warnings": list(result.warnings),
            "imported_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def _display_name(result: ImportResult, name: str | None) -> str:
    """The name given, the FHIR name, else one made from the FHIR id or first identifier
    (said so in the name); with none of them the import is refused before anything runs."""
    if name or result.name:
        return str(name or result.name)
    if result.fhir_patient_id:
        return f"FHIR Patient {safe_patient_id(result.fhir_patient_id)} (unnamed)"
    if result.identifiers:
        return f"FHIR Patient {result.identifiers[0][-60:]} (unnamed)"
    raise FhirImportError("the FHIR patient has no name, id or identifier; give a name "
                          "(kapcds import-fhir --name \"...\"). Nothing was saved")


def import_into_store(session: Session, result: ImportResult, patient_id: str | None = None,
                      *, name: str | None = None, completions: Mapping[str, Any] | None = None,
                      is_synthetic: bool = False, commit: bool = True,
                      allow_gaps: bool = True,
                      source_format: str = DEFAULT_FORMAT) -> Patient:
    """Save the imported patient (plus ``completions`` for its gaps) as one new patient.

    Inputs still missing after ``completions`` are saved as gaps (``patient.data_gaps``);
    with ``allow_gaps=False`` they raise ``IncompleteImportError`` instead. A patient
    already stored (same identifier) raises ``ExistingPatientError``: use ``store_import``
    to update it. The store's own errors (``InputValidationError``,
    ``DuplicateRecordError``) propagate; in every error case nothing is saved.
    ``commit=False`` leaves the commit to the caller's unit of work.
    """
    return store_import(session, result, patient_id, name=name, completions=completions,
                        is_synthetic=is_synthetic, commit=commit, allow_gaps=allow_gaps,
                        source_format=source_format, on_match="refuse").patient


def store_import(session: Session, result: ImportResult, patient_id: str | None = None,
                 *, name: str | None = None, completions: Mapping[str, Any] | None = None,
                 is_synthetic: bool = False, commit: bool = True, allow_gaps: bool = True,
                 source_format: str = DEFAULT_FORMAT,
                 on_match: Literal["update", "refuse"] = "update") -> StoredImport:
    """Save a new patient, or update the stored one this FHIR patient matches."""
    if result.deceased:
        raise DeceasedPatientError(result)
    completed = complete(result, completions or {})
    if completed.missing and not allow_gaps:
        raise IncompleteImportError(completed.missing)
    data: dict[str, Any] = {**completed.patient, NAME_COLUMN: _display_name(result, name)}
    try:
        existing = find_existing(session, result)
        if existing is not None and on_match == "refuse":
            raise ExistingPatientError(existing[0].patient_id, existing[1])
        if existing is not None:
            outcome = _update(session, existing, data, result, source_format)
        else:
            outcome = _create(session, result, data, patient_id, is_synthetic,
                              completed.missing, source_format)
        if result.sessions:  # the same transaction: patient and sessions, or nothing
            from records.imports.sessions import add_imported_sessions

            outcome.sessions = add_imported_sessions(session, outcome.patient.patient_id,
                                                     result.sessions).summary()
        if result.followup:  # visits exported by KAP-CDS, after the sessions they follow
            from interop.fhir.importer.followup_visits import store_visits

            outcome.followup_visits = store_visits(session, outcome.patient.patient_id,
                                                   result.followup)
        outcome.followup_visits += store_followup(session, outcome.patient, result.extras)
        if commit:
            session.commit()
    except Exception:
        session.rollback()
        raise
    log.info("FHIR patient %s: %s (%d values from FHIR, %d entered, %d gaps)",
             result.fhir_patient_id, outcome.summary(), len(result.patient),
             len(completed.patient) - len(result.patient), len(completed.missing))
    return outcome


def _create(session: Session, result: ImportResult, data: dict[str, Any],
            patient_id: str | None, is_synthetic: bool, gaps: list[str],
            source_format: str) -> StoredImport:
    from records import repository  # the store is optional for parsing-only callers

    data = {**data, "is_synthetic": is_synthetic}
    if patient_id:
        data[ID_COLUMN] = patient_id
    patient = repository.add_patient(session, data, gaps=gaps,
                                     import_source=import_source(result, source_format))
    return StoredImport(patient, created=True)


def _update(session: Session, existing: tuple[Patient, str], data: dict[str, Any],
            result: ImportResult, source_format: str) -> StoredImport:
    from records import repository

    patient, key = existing
    gaps_before = set(patient.data_gaps or [])  # placeholders, never shown as old values
    before = {NAME_COLUMN: patient.name, **{k: (GAP if k in gaps_before else v)
                                            for k, v in patient.features().items()}}
    found_gaps = [g for g in (patient.data_gaps or []) if g in data]
    patient = repository.update_patient(session, patient.patient_id, data, patient.version,
                                        confirmed=found_gaps)
    gaps_after = set(patient.data_gaps or [])
    after = {NAME_COLUMN: patient.name, **{k: (GAP if k in gaps_after else v)
                                           for k, v in patient.features().items()}}
    changes = {k: (before[k], after[k]) for k in after if before.get(k) != after[k]}
    source = import_source(result, source_format)
    previous = dict(patient.import_source or {})
    source["identifiers"] = list(dict.fromkeys(
        [*(previous.get("identifiers") or []), *source["identifiers"]]))
    source["fhir_ids"] = list(dict.fromkeys(  # (source, FHIR id) pairs this patient had
        [*(previous.get("fhir_ids") or []), *_fhir_pairs(previous), *_fhir_pairs(source)]))
    source["first_imported_at"] = previous.get("first_imported_at", previous.get("imported_at"))
    patient.import_source = source
    session.flush()
    return StoredImport(patient, created=False, matched_on=key, changes=changes)
