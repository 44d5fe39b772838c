"""Which codes an import used and which it met but could not map: nothing dropped in silence.

Conditions and medications report their own unmapped codes while they are mapped
(``Draft.unmapped_codes``); Observations are checked here against every code the
importer reads (schema LOINC codes, questionnaire panels and items, KAP-CDS code systems).
The summary goes into the import result (``unmapped``, ``coded``), its warnings (one line
per file) and the CLI/dashboard report.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from interop.fhir import codes, inputs, session_codes
from interop.fhir.importer.parse import Entry
from interop.fhir.importer.scales import SCALES
from interop.fhir.util import Draft, codings

SHOWN_PER_FILE = 8
_KNOWN_LOINC = frozenset({*codes.OBSERVATION_CODES, *codes.BP_PANELS, codes.PREGNANCY_STATUS,
                          *(c for s in SCALES for c in (s.panel, s.total, *s.items)),
                          *(code for code, _ in session_codes.LOINC.values())})
_KNOWN_SYSTEMS = (inputs.INPUT_SYSTEM, session_codes.SESSION_MEASURE,
                  session_codes.FOLLOWUP_MEASURE)


def observation_used(resource: dict[str, Any]) -> bool:
    """True when the Observation carries a code the importer reads."""
    return any((system == codes.LOINC and code in _KNOWN_LOINC) or system in _KNOWN_SYSTEMS
               for system, code, _ in codings(resource.get("code")))


def note_observations(entries: list[Entry], draft: Draft) -> None:
    """Count the Observations read and report the codes of the others."""
    for entry in entries:
        if entry.type != "Observation":
            continue
        if observation_used(entry.resource):
            draft.mapped_code(entry)
        elif entry.resource.get("status") != "entered-in-error":
            draft.unmapped_codes(entry, entry.resource.get("code"))


def summarise(draft: Draft) -> tuple[list[dict[str, Any]], dict[str, dict[str, int]]]:
    """(unmapped codes with a count per file, {resource type: {mapped, unmapped}})."""
    counted = Counter(draft.unmapped)
    unmapped = [{"file": f, "resource_type": t, "system": s, "code": c, "display": d,
                 "count": n} for (f, t, s, c, d), n in counted.items()]
    coded: dict[str, dict[str, int]] = {}
    for rtype, n in draft.mapped.items():
        coded.setdefault(rtype, {"mapped": 0, "unmapped": 0})["mapped"] = n
    for (_, rtype, _, _, _), n in counted.items():
        coded.setdefault(rtype, {"mapped": 0, "unmapped": 0})["unmapped"] += n
    return unmapped, coded


def code_label(item: dict[str, Any]) -> str:
    """``SNOMED 44054006 "Diabetes" ×2`` for people (the display is untrusted text)."""
    system = {codes.SNOMED: "SNOMED", codes.LOINC: "LOINC", codes.RXNORM: "RxNorm",
              codes.ATC: "ATC"}.get(item["system"]) or (
        "ICD-10" if item["system"] in codes.ICD10 else item["system"] or "no system")
    times = f" ×{item['count']}" if item["count"] > 1 else ""
    code = item["code"] or "(no code)"
    return f"{system} {code} {item['display'][:80]!r}{times}"


def unmapped_lines(unmapped: list[dict[str, Any]], limit: int | None = SHOWN_PER_FILE
                   ) -> list[str]:
    """One line per file: how many codes map to no model input, and which."""
    by_file: dict[str, list[dict[str, Any]]] = {}
    for item in unmapped:
        by_file.setdefault(item["file"], []).append(item)
    lines = []
    for name, items in by_file.items():
        total = sum(i["count"] for i in items)
        types = ", ".join(sorted({i["resource_type"] for i in items}))
        shown = items if limit is None else items[:limit]
        more = len(items) - len(shown)
        lines.append(f"{name}: {total} coded {types} record(s) map to no model input: "
                     + "; ".join(code_label(i) for i in shown)
                     + (f"; and {more} more code(s) (kapcds import-fhir --list-unmapped lists them)"
                        if more else ""))
    return lines
