"""Reading dosing sessions back from FHIR: session Encounters and the Observations linked to them.

The shape is the one ``interop.fhir.exporter.sessions`` writes (vocabulary in
``interop.fhir.session_codes``). Observations linked to a session Encounter are session
measurements, so they never become the patient's screening values; every other Observation
is left for ``interop.fhir.importer.observations``. A session that lacks a required field is not
imported and the warning names the session and the fields: nothing is filled in.
"""

from __future__ import annotations

import logging
from typing import Any

from interop.fhir import codes
from interop.fhir import session_codes as vocab
from interop.fhir.importer.parse import Entry
from interop.fhir.refs import ReferenceIndex, reference_of
from interop.fhir.util import Draft, codings, parse_time
from models.contract.schema import SESSION_FIELDS, SessionField

log = logging.getLogger(__name__)
SESSION_TIME = "session_at"


def split_session_entries(entries: list[Entry]) -> tuple[list[Entry], list[Entry]]:
    """(session and follow-up Encounters with their Observations, every other entry)."""
    encounters = [e for e in entries if vocab.is_session_encounter(e.resource)
                  or vocab.is_followup_encounter(e.resource)]
    index = ReferenceIndex(encounters)
    sessions, rest, taken = list(encounters), [], {id(e) for e in encounters}
    for entry in entries:
        if id(entry) in taken:
            continue
        linked = entry.type == "Observation" and index.resolve(
            reference_of(entry.resource.get("encounter")), entry) is not None
        (sessions if linked else rest).append(entry)
    return sessions, rest


def _local_code(concept: Any) -> str | None:
    return next((code for system, code, _ in codings(concept)
                 if system == vocab.SESSION_MEASURE), None)


def _number(text: str) -> int | None:
    tail = text.rsplit("/", 1)[-1]
    return int(tail) if tail.isdigit() else None


def _value(spec: SessionField, node: dict[str, Any], where: str, draft: Draft) -> Any:
    """The typed value of one field, or None (with a warning) when it cannot be read."""
    if spec.dtype == "bool":
        value = node.get("valueBoolean")
        if isinstance(value, bool):
            return value
    elif spec.dtype == "category":
        system = f"{vocab.CATEGORY_SYSTEM}/{spec.name}"
        code = next((c for s, c, _ in codings(node.get("valueCodeableConcept")) if s == system),
                    None)
        if code in (spec.categories or ()):
            return code
    else:
        raw = node.get("valueInteger")
        if raw is None and isinstance(node.get("valueQuantity"), dict):
            quantity = node["valueQuantity"]
            if quantity.get("code") in (None, vocab.ucum(spec)):
                raw = quantity.get("value")
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            if spec.dtype == "float":
                return float(raw)
            if float(raw).is_integer():
                return int(raw)
    draft.warn(f"{where}: {spec.label} ({spec.name}) could not be read; not imported")
    return None


def _read_observation(entry: Entry, values: dict[str, Any], draft: Draft) -> None:
    res = entry.resource
    if res.get("status") not in codes.OBSERVATION_STATUS_OK:
        return
    code = _local_code(res.get("code"))
    if code in vocab.NOTE_FIELDS:
        if isinstance(res.get("valueString"), str):
            values[code] = res["valueString"]
        return
    if code in vocab.TIME_FIELDS:
        moment = parse_time(res.get("valueDateTime"))
        if moment is None:
            draft.warn(f"{entry.ref}: {code.replace('_', ' ')} is not a date and time; "
                       "not imported")
        values[code] = moment
        return
    measure = next((m for m in vocab.measures() if m.code == code), None)
    if measure is None:
        draft.warn(f"{entry.ref}: session measure {code!r} is not known here; skipped")
        return
    nodes = ({_local_code(c.get("code")): c for c in res.get("component") or []
              if isinstance(c, dict)} if measure.is_bp else {measure.fields[0]: res})
    for name in measure.fields:
        if name in nodes:
            value = _value(vocab.field_spec(name), nodes[name], entry.ref, draft)
            if value is not None:
                values[name] = value


def _session(encounter: Entry, observations: list[Entry], draft: Draft) -> dict[str, Any] | None:
    key = next(i.get("value") for i in encounter.resource["identifier"]
               if isinstance(i, dict) and i.get("system") == vocab.SESSION_IDENTIFIER)
    number = _number(str(key))
    if number is None:
        draft.warn(f"{encounter.ref}: session identifier {key!r} has no session number; "
                   "the session was not imported")
        return None
    phase = next((c for t in encounter.resource.get("type") or [] for s, c, _ in codings(t)
                  if s == vocab.PHASE_SYSTEM), "induction")
    values: dict[str, Any] = {"session_number": number, "phase": phase,
                              SESSION_TIME: parse_time((encounter.resource.get("period") or {})
                                                       .get("start"))}
    for entry in observations:
        _read_observation(entry, values, draft)
    lacking = [f.label for f in SESSION_FIELDS if f.name not in ("patient_id", "session_number")
               and not f.nullable and values.get(f.name) is None]
    if lacking:
        draft.warn(f"session {number} ({encounter.ref}) lacks {', '.join(lacking)}; the "
                   "session was not imported (enter it on the progress page)")
        return None
    return values


def read_sessions(entries: list[Entry], draft: Draft) -> list[dict[str, Any]]:
    """Session rows (schema field names, ``session_at``, notes) from session entries."""
    encounters = [e for e in entries if vocab.is_session_encounter(e.resource)]
    index = ReferenceIndex(encounters)
    linked: dict[int, list[Entry]] = {id(e): [] for e in encounters}
    for entry in entries:
        if entry.type == "Observation":
            target = index.resolve(reference_of(entry.resource.get("encounter")), entry)
            if target is not None:
                linked[id(target)].append(entry)
    rows: dict[int, dict[str, Any]] = {}
    for encounter in encounters:
        row = _session(encounter, linked[id(encounter)], draft)
        if row is None:
            continue
        if row["session_number"] in rows:
            draft.warn(f"{encounter.ref}: session {row['session_number']} appears twice; the "
                       "first one is kept")
            continue
        rows[row["session_number"]] = row
    log.debug("read %d session(s) from %d session Encounter(s)", len(rows), len(encounters))
    return [rows[n] for n in sorted(rows)]
