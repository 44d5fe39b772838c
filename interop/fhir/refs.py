"""FHIR references as exports write them, and grouping resources by the patient they name.

Every form seen in the wild resolves to the same resource: relative (``Patient/123``),
absolute (``https://ehr.example/fhir/Patient/123``), versioned (``Patient/123/_history/2``),
``urn:uuid:`` (a Bundle entry's fullUrl), contained (``#med1``, looked up in the resource
that holds the reference) and conditional (``Patient?identifier=system|value``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from interop.fhir.importer.parse import Entry

_TYPE_ID = re.compile(r"(?:^|/)([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?/?$")
SUBJECT_FIELDS = ("subject", "patient")
SHARED_TYPES = frozenset({"Medication"})  # resources that belong to no patient


def reference_of(value: Any) -> str | None:
    """The ``reference`` string of a Reference (dict), or None."""
    if isinstance(value, dict) and isinstance(value.get("reference"), str):
        return value["reference"].strip() or None
    return None


def normalise(ref: str) -> str:
    """``Type/id`` for relative, absolute and versioned references; others unchanged."""
    if ref.startswith(("urn:", "#")) or "?" in ref:
        return ref
    match = _TYPE_ID.search(ref)
    return f"{match.group(1)}/{match.group(2)}" if match else ref


def subject_reference(entry: Entry) -> str | None:
    """The patient reference a resource carries (``subject`` or ``patient``)."""
    for name in SUBJECT_FIELDS:
        ref = reference_of(entry.resource.get(name))
        if ref:
            return ref
    return None


def _identifiers(resource: dict[str, Any]) -> set[str]:
    out = set()
    for ident in resource.get("identifier") or []:
        if isinstance(ident, dict) and ident.get("value"):
            out.add(f"{ident.get('system') or ''}|{ident['value']}")
            out.add(f"|{ident['value']}")
    return out


class ReferenceIndex:
    """Find the entry a reference points at, whatever form the reference takes."""

    def __init__(self, entries: list[Entry]) -> None:
        self._by_key: dict[str, Entry] = {}
        self._by_identifier: dict[tuple[str, str], Entry] = {}
        for entry in entries:
            for key in self.keys(entry):
                self._by_key.setdefault(key, entry)
            for ident in _identifiers(entry.resource):
                self._by_identifier.setdefault((entry.type, ident), entry)

    @staticmethod
    def keys(entry: Entry) -> set[str]:
        """Every string a reference to ``entry`` may be written as (after normalising)."""
        keys = set()
        rid = entry.resource.get("id")
        if rid:
            keys |= {f"{entry.type}/{rid}", f"urn:uuid:{rid}"}
        if entry.full_url:
            keys |= {entry.full_url, normalise(entry.full_url)}
        return keys

    def resolve(self, ref: str | None, container: Entry | None = None) -> Entry | None:
        """The entry ``ref`` names (``#id`` looks inside ``container``), or None."""
        if not ref:
            return None
        if ref.startswith("#"):
            return _contained(container, ref[1:])
        if "?" in ref:
            rtype, _, query = ref.partition("?")
            name, _, value = query.partition("=")
            if name != "identifier" or not value:
                return None
            key = value if "|" in value else f"|{value}"
            return self._by_identifier.get((rtype, key))
        return self._by_key.get(ref) or self._by_key.get(normalise(ref))


def _contained(container: Entry | None, rid: str) -> Entry | None:
    if container is None:
        return None
    for item in container.resource.get("contained") or []:
        if isinstance(item, dict) and item.get("id") == rid:
            return Entry(f"{container.where} contained #{rid}", item)
    return None


@dataclass
class Grouping:
    """Resources split by the patient they belong to, and those that belong to no one known.

    ``unknown`` maps a patient reference that matches no Patient of the input to the
    resources naming it; ``no_subject`` holds resources that name no patient at all.
    """

    patients: list[tuple[Entry, list[Entry]]] = field(default_factory=list)
    shared: list[Entry] = field(default_factory=list)
    unknown: dict[str, list[Entry]] = field(default_factory=dict)
    no_subject: list[Entry] = field(default_factory=list)
    duplicates: list[Entry] = field(default_factory=list)

    def unattributed(self) -> list[str]:
        """One line per resource that was not given to any patient, saying why."""
        lines = [f"{e.ref} ({e.where}) names {ref}, which is not a Patient in this import"
                 for ref, entries in self.unknown.items() for e in entries]
        lines += [f"{e.ref} ({e.where}) names no patient" for e in self.no_subject]
        return lines


def group_by_patient(entries: list[Entry]) -> Grouping:
    """Give every resource to the Patient its subject reference resolves to."""
    index = ReferenceIndex([e for e in entries if e.type == "Patient"])
    grouping = Grouping()
    own: dict[int, list[Entry]] = {}
    for entry in entries:
        if entry.type == "Patient":
            if index.resolve(f"Patient/{entry.resource.get('id')}") is not entry \
                    and entry.resource.get("id"):
                grouping.duplicates.append(entry)
                continue
            own[id(entry)] = []
            grouping.patients.append((entry, own[id(entry)]))
        elif entry.type in SHARED_TYPES:
            grouping.shared.append(entry)
    for entry in entries:
        if entry.type == "Patient" or entry.type in SHARED_TYPES:
            continue
        ref = subject_reference(entry)
        target = index.resolve(ref)
        if target is not None and id(target) in own:
            own[id(target)].append(entry)
        elif ref is None:
            grouping.no_subject.append(entry)
        else:
            grouping.unknown.setdefault(normalise(ref), []).append(entry)
    return grouping


def patient_id_of(ref: str) -> str | None:
    """The id in a patient reference (``Patient/123``, ``urn:uuid:…``), for a result that
    has no Patient resource; None for a reference to some other type."""
    if ref.startswith("urn:uuid:"):
        return ref.removeprefix("urn:uuid:") or None
    norm = normalise(ref)
    if norm.startswith("Patient/"):
        return norm.split("/", 1)[1]
    return None
