"""Import one patient from FHIR R4 (JSON Bundle or NDJSON bulk export) into schema features.

Resources are validated with the R4 models in ``fhir.resources.R4B`` (the package's default
models are R5). The result lists what was found, what is missing (never guessed) and
warnings for the clinician to review; predictions stay hidden until every input they need
has been filled in (``can_predict``). Code tables: ``interop.fhir.codes``.
"""

from __future__ import annotations

import logging
from calendar import monthrange
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

from interop.fhir.importer.conditions import map_conditions
from interop.fhir.importer.coverage import note_observations, summarise, unmapped_lines
from interop.fhir.importer.followup_visits import read_visits
from interop.fhir.importer.medications import map_medications
from interop.fhir.importer.observations import map_observations
from interop.fhir.importer.parse import Entry, FhirImportError, Parsed, parse_bundle, parse_ndjson
from interop.fhir.importer.result import (
    ImportResult,
    blocking_fields,
    can_predict,
    can_screen,
    complete,
    patient_identifiers,
    screen_blocking_fields,
)
from interop.fhir.importer.sessions import read_sessions, split_session_entries
from interop.fhir.importer.store import IncompleteImportError, import_into_store
from interop.fhir.inputs import map_inputs
from interop.fhir.refs import (
    SHARED_TYPES,
    ReferenceIndex,
    group_by_patient,
    normalise,
    subject_reference,
)
from interop.fhir.util import Draft, parse_time
from models.contract import schema
from models.contract.doses import complete_doses

log = logging.getLogger(__name__)

__all__ = ["FhirImportError", "ImportResult", "IncompleteImportError", "blocking_fields",
           "can_predict", "can_screen", "complete", "import_bundle", "import_into_store",
           "import_ndjson", "import_ndjson_all", "screen_blocking_fields"]

def _years(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _age(birth: str, on: date, draft: Draft, ref: str) -> None:
    """Age on ``on``; a partial birth date (``1980`` or ``1980-05``) counts only when every
    possible birthday gives the same age."""
    parts = [int(p) for p in birth[:10].split("-")]
    if len(parts) == 3:
        try:
            draft.set("age", _years(date(*parts), on), [ref])
        except ValueError:
            draft.warn(f"{ref}: birth date {birth} is not a calendar date; enter the age")
        return
    first_month, last_month = (parts[1], parts[1]) if len(parts) == 2 else (1, 12)
    earliest = date(parts[0], first_month, 1)
    latest = date(parts[0], last_month, monthrange(parts[0], last_month)[1])
    oldest, youngest = _years(earliest, on), _years(latest, on)
    if oldest == youngest:
        draft.set("age", oldest, [ref])
    else:
        draft.warn(f"{ref}: birth date {birth} gives age {youngest} or {oldest} on {on}; "
                   "enter the age")


def _name(resource: Mapping[str, Any]) -> str | None:
    for name in resource.get("name") or []:
        text = name.get("text") or " ".join([*(name.get("given") or []),
                                             name.get("family") or ""]).strip()
        if text:
            return str(text)
    return None


def _map_patient(entry: Entry | None, draft: Draft, basis: str) -> tuple[str | None, str | None]:
    if entry is None:
        draft.warn("no Patient resource: age and sex are missing")
        return None, None
    res = entry.resource
    died = res.get("deceasedDateTime")
    if res.get("deceasedBoolean") or died:
        draft.extras["deceased"] = str(died or "yes")
        draft.warn(f"{entry.ref}: the patient is recorded as deceased"
                   + (f" ({str(died)[:10]})" if died else "") + "; not a treatment candidate")
    if res.get("birthDate"):
        on = parse_time(died).date() if died and parse_time(died) else draft.reference_date
        draft.extras["age_on"] = {"date": on.isoformat(),
                                  "basis": "date of death" if on != draft.reference_date
                                  else basis}
        _age(str(res["birthDate"]), on, draft, entry.ref)
    gender = res.get("gender")
    if gender in ("female", "male"):
        draft.set("sex", gender, [entry.ref])
    elif gender:
        draft.warn(f"{entry.ref}: gender {gender!r} is not one of the schema's sex categories "
                   "(female, male); enter it")
    return res.get("id"), _name(res)


def origin_of(patient: Entry | None, source: str) -> str:
    """Where a FHIR id is valid: the Patient's ``meta.source``, else the server base of
    an absolute ``fullUrl``, else the input's name (a FHIR id is never matched across
    sources)."""
    if patient is not None:
        meta = patient.resource.get("meta") or {}
        if isinstance(meta.get("source"), str) and meta["source"]:
            return meta["source"][:256]
        url = patient.full_url or ""
        if url.startswith(("http://", "https://")) and "/Patient/" in url:
            return url.rsplit("/Patient/", 1)[0][:256]
    return source[:256]


def _subject(entry: Entry) -> str | None:
    """The patient reference of a resource, normalised (``Patient/id`` for relative,
    absolute and versioned forms)."""
    ref = subject_reference(entry)
    return normalise(ref) if ref else None


def _select(parsed: Parsed, patient_id: str | None, source: str) -> tuple[Entry | None,
                                                                         list[Entry]]:
    patients = [e for e in parsed.entries if e.type == "Patient"]
    if patient_id is not None:
        patients = [e for e in patients if e.resource.get("id") == patient_id]
        if not patients:
            raise FhirImportError(f"{source}: no Patient with id {patient_id!r}")
    if len(patients) > 1:
        ids = ", ".join(str(e.resource.get("id")) for e in patients[:10])
        raise FhirImportError(f"{source}: {len(patients)} Patient resources ({ids}); import "
                              "one patient at a time (choose one with patient_id), or all "
                              "of them with interop.fhir.importer.batch.import_fhir")
    patient = patients[0] if patients else None
    keys = ReferenceIndex.keys(patient) if patient else set()
    subjects = {s for e in parsed.entries if e.type != "Patient" and (s := _subject(e))}
    if patient is None and len(subjects) > 1:
        raise FhirImportError(f"{source}: resources refer to {len(subjects)} different "
                              "patients and no Patient resource says which to import")
    chosen = []
    for entry in parsed.entries:
        subject = _subject(entry)
        if entry.type in ("Patient", *SHARED_TYPES) or patient is None or subject in keys:
            chosen.append(entry)
        elif subject is None:
            parsed.warnings.append(f"{entry.ref} ({entry.where}) names no patient; used")
            chosen.append(entry)
        else:
            log.debug("%s belongs to %s, skipped", entry.ref, subject)
    return patient, [e for e in chosen if e.type != "Patient"]


def build_result(patient: Entry | None, entries: list[Entry], *, warnings: list[str],
                 ignored: Mapping[str, int], reference_date: date | None, source: str,
                 fhir_id: str | None = None) -> ImportResult:
    """Map one patient's resources to schema features (``fhir_id`` names a patient that
    has no Patient resource in the input, from its resources' subject reference)."""
    on = reference_date or date.today()
    draft = Draft(on, warnings=list(warnings))
    found_id, name = _map_patient(patient, draft,
                                  "reference date" if reference_date else "import date")
    session_entries, entries = split_session_entries(entries)  # never screening values
    sessions = read_sessions(session_entries, draft)
    followup = read_visits(session_entries, draft)
    pregnancy = map_observations(entries, draft)
    map_conditions(entries, draft, pregnancy)
    map_medications(entries, draft)
    map_inputs(entries, draft)  # KAP-CDS codes: only what the standard resources left missing
    note_observations(entries, draft)
    unmapped, coded = summarise(draft)
    draft.warnings.extend(unmapped_lines(unmapped))
    names = schema.feature_names()
    found = [n for n in names if n in draft.values]
    sources = sorted({r for refs in draft.evidence.values() for r in refs})
    values = complete_doses({n: draft.values[n] for n in found})  # other route's unit: empty
    result = ImportResult(
        patient={n: values[n] for n in names if n in values}, found=found,
        missing=[n for n in names if n not in values], warnings=draft.warnings,
        source_ids=sources, name=name, fhir_patient_id=found_id or fhir_id,
        identifiers=patient_identifiers(patient.resource if patient else None),
        evidence={n: draft.evidence[n] for n in found}, ignored=dict(ignored),
        reference_date=on, extras=dict(draft.extras), sessions=sessions,
        followup=followup, unmapped=unmapped, coded=coded,
        origin=origin_of(patient, source), deceased=draft.extras.get("deceased"))
    log.info("%s: imported patient %s: %d features found, %d missing, %d warnings", source,
             result.fhir_patient_id or "(no Patient)", len(found), len(result.missing),
             len(draft.warnings))
    return result


def _build(parsed: Parsed, patient_id: str | None, reference_date: date | None,
           source: str) -> ImportResult:
    patient, entries = _select(parsed, patient_id, source)
    return build_result(patient, entries, warnings=parsed.warnings, ignored=parsed.ignored,
                        reference_date=reference_date, source=source)


def import_bundle(data: str | bytes | Path | Mapping[str, Any], *,
                  patient_id: str | None = None, reference_date: date | None = None,
                  source: str | None = None) -> ImportResult:
    """Import a JSON Bundle (text, bytes, a file path or a parsed dict).

    ``reference_date`` (default today) is the date ages are computed on.
    """
    if isinstance(data, Path):
        source = source or data.name
        data = data.read_bytes()
    return _build(parse_bundle(data, source or "bundle"), patient_id, reference_date,
                  source or "bundle")


def import_ndjson(data: str | bytes | Path | Iterable[str] | list[str | bytes | Path], *,
                  patient_id: str | None = None,
                  reference_date: date | None = None) -> ImportResult:
    """Import one patient from NDJSON (one file's text, lines, or a list of files)."""
    return _build(parse_ndjson(data), patient_id, reference_date, "ndjson")


def import_ndjson_all(data: str | bytes | Path | Iterable[str] | list[str | bytes | Path], *,
                      reference_date: date | None = None) -> list[ImportResult]:
    """Import every patient of a bulk export (validated once; one result per Patient).

    Resources are joined to their Patient by reference across files; those naming no
    Patient of the export are listed in every result's warnings."""
    parsed = parse_ndjson(data)
    grouping = group_by_patient(parsed.entries)
    warnings = list(parsed.warnings)
    lost = grouping.unattributed()
    if lost:
        warnings.append(f"{len(lost)} resource(s) name no patient of this import; not "
                        f"attributed to anyone: {'; '.join(lost[:5])}"
                        + (" …" if len(lost) > 5 else ""))
    return [build_result(patient, [*grouping.shared, *own], warnings=warnings,
                         ignored=parsed.ignored, reference_date=reference_date,
                         source="ndjson")
            for patient, own in grouping.patients]
