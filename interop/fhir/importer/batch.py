"""Import every patient of any FHIR R4 input: a folder, a file, text, bytes or a dict.

``import_fhir`` reads Bulk Data folders, multi-patient Bundles (searchset, collection,
transaction, batch), NDJSON (whatever the file is called) and single resources, groups
the resources by the patient they name (every reference form, see ``interop.fhir.refs``)
and maps each patient on its own. The report lists, per import, the resources that name
no Patient of the input, so nothing is dropped silently. Nothing is saved here; the
caller saves every result in one transaction (all or nothing).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from interop.fhir.importer.coverage import unmapped_lines
from interop.fhir.importer.parse import FhirImportError
from interop.fhir.importer.patient import build_result
from interop.fhir.importer.result import ImportResult
from interop.fhir.importer.sources import Source, read_source
from interop.fhir.refs import Grouping, group_by_patient, patient_id_of

log = logging.getLogger(__name__)
_SHOWN = 5


@dataclass
class ImportReport:
    """One import: a result per patient, and what could not be given to any patient."""

    source: str
    format: str
    results: list[ImportResult]
    unattributed: list[str] = field(default_factory=list)
    ignored: dict[str, int] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    refused: list[ImportResult] = field(default_factory=list)  # deceased: not candidates

    def lines(self, list_unmapped: bool = False) -> list[str]:
        """The report a person reads: per file, per patient, then unattributed resources
        (``list_unmapped``: every unmapped code, not only the first few per file)."""
        out = [f"{self.source}: {self.format}, {len(self.files)} file(s), "
               f"{len(self.results)} patient(s)"]
        if self.ignored:
            out.append("  not used (types the importer does not map): "
                       + ", ".join(f"{k} {v}" for k, v in sorted(self.ignored.items())))
        for result in self.results:
            who = result.name or (f"Patient/{result.fhir_patient_id}"
                                  if result.fhir_patient_id else "patient")
            out.append(f"{who}: found {len(result.found)} inputs; missing "
                       f"{len(result.missing)}: {', '.join(result.missing) or '-'}")
            age_on = result.extras.get("age_on")
            if age_on and "age" in result.patient:
                out.append(f"  age {result.patient['age']} on {age_on['date']} "
                           f"(the {age_on['basis']})")
            if result.coded:
                out.append("  coded records: " + ", ".join(
                    f"{t} {c['mapped']} mapped / {c['unmapped']} unmapped"
                    for t, c in sorted(result.coded.items())))
            out += [f"  warning: {w}" for w in result.warnings]
            if list_unmapped:
                out += [f"  unmapped: {line}" for line in unmapped_lines(result.unmapped, None)]
        for result in self.refused:
            who = result.name or f"Patient/{result.fhir_patient_id}"
            died = "" if result.deceased == "yes" else f" ({str(result.deceased)[:10]})"
            out.append(f"{who}: recorded as deceased{died}; not imported (a deceased "
                       "patient is not a treatment candidate)")
        if self.unattributed:
            out.append(f"{len(self.unattributed)} resource(s) not imported, they name no "
                       "Patient of this input:")
            out += [f"  {line}" for line in self.unattributed]
        return out


def _no_patient_resource(source: Source, grouping: Grouping, name: str,
                         on: date | None) -> list[ImportResult]:
    """No Patient resource: one named subject makes one result (age and sex missing);
    several subjects, or none, cannot be attributed and are refused."""
    subjects = sorted(grouping.unknown)
    types = sorted({e.type for entries in grouping.unknown.values() for e in entries}
                   | {e.type for e in grouping.no_subject})
    if not subjects and not grouping.no_subject:
        ignored = ", ".join(f"{k} {v}" for k, v in sorted(source.parsed.ignored.items()))
        raise FhirImportError(f"{name}: no patient data (no Patient, Observation, Condition, "
                              "medication or QuestionnaireResponse resources"
                              + (f"; only {ignored}" if ignored else "") + ")")
    if len(subjects) > 1:
        shown = ", ".join(subjects[:_SHOWN]) + (" …" if len(subjects) > _SHOWN else "")
        count = sum(len(v) for v in grouping.unknown.values())
        raise FhirImportError(
            f"{name}: {count} {'/'.join(types)} resource(s) refer to {len(subjects)} patients "
            f"({shown}) but the input holds no Patient resource; nothing imported. Import "
            "them with their Patient resources (e.g. the whole Bulk Data export folder)")
    entries = [*grouping.shared, *grouping.no_subject,
               *(grouping.unknown[subjects[0]] if subjects else [])]
    warnings = [*source.parsed.warnings,
                f"{name}: no Patient resource; {'/'.join(types)} only"
                + (f" for {subjects[0]}" if subjects else "") + ": age and sex are missing"]
    fhir_id = patient_id_of(subjects[0]) if subjects else None
    return [build_result(None, entries, warnings=warnings, ignored=source.parsed.ignored,
                         reference_date=on, source=name, fhir_id=fhir_id)]


def import_fhir(data: str | bytes | Path | Mapping[str, Any] | list[Path], *,
                reference_date: date | None = None, source: str | None = None) -> ImportReport:
    """Read ``data`` (format told by content) and map every patient in it.

    Raises ``FhirImportError`` naming the file, entry or line for malformed input, and
    for input whose resources cannot be attributed to a patient at all.
    """
    name = source or (str(data) if isinstance(data, Path) else "input")
    read = read_source(data, source)
    grouping = group_by_patient(read.parsed.entries)
    warnings = list(read.parsed.warnings)
    warnings += [f"{e.ref} ({e.where}): a second copy of this Patient; the first is used"
                 for e in grouping.duplicates]
    if not grouping.patients:
        results = _no_patient_resource(read, grouping, name, reference_date)
        return ImportReport(name, read.format, results, [], dict(read.parsed.ignored),
                            read.files)
    if len(grouping.patients) == 1 and grouping.no_subject:  # a one-patient file: theirs
        patient, own = grouping.patients[0]
        own.extend(grouping.no_subject)
        warnings += [f"{e.ref} ({e.where}) names no patient; used for the one Patient of "
                     "the input" for e in grouping.no_subject]
        grouping.no_subject = []
    lost = grouping.unattributed()
    if lost:
        warnings.append(f"{len(lost)} resource(s) of this import name no Patient of it and "
                        "were not imported (listed in the import report)")
    results = [build_result(patient, [*grouping.shared, *own], warnings=warnings,
                            ignored=read.parsed.ignored, reference_date=reference_date,
                            source=name)
               for patient, own in grouping.patients]
    log.info("%s: %d patient(s), %d unattributed resource(s)", name, len(results), len(lost))
    return ImportReport(name, read.format, [r for r in results if not r.deceased], lost,
                        dict(read.parsed.ignored), read.files,
                        [r for r in results if r.deceased])
