"""Reading FHIR R4 JSON bundles and NDJSON bulk exports into validated resources.

FHIR R4 is validated with the ``fhir.resources.R4B`` models (R4B is R4 plus errata; the
package's default, top-level models are R5). Only the resource types the importer maps are
validated; every other type is counted and skipped, so an export full of claims or
encounters never stops an import. Any error names the bundle entry or NDJSON line.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from interop.fhir.session_codes import is_followup_encounter, is_session_encounter

log = logging.getLogger(__name__)

SUPPORTED_BUNDLE_TYPES = ("transaction", "collection", "searchset", "batch")
MAPPED_TYPES = frozenset({"Patient", "Observation", "Condition", "MedicationStatement",
                          "MedicationRequest", "Medication", "QuestionnaireResponse"})
_MAX_ERRORS_SHOWN = 3
_MAX_ISSUES = 20


class FhirImportError(ValueError):
    """The FHIR input is malformed or holds an invalid resource; nothing was imported."""


@dataclass(frozen=True)
class Entry:
    """One resource with where it came from (``entry 3`` or ``line 7``) for messages."""

    where: str
    resource: dict[str, Any]
    full_url: str | None = None

    @property
    def type(self) -> str:
        return str(self.resource.get("resourceType"))

    @property
    def ref(self) -> str:
        """``Type/id`` when the resource has an id, else its fullUrl or location."""
        rid = self.resource.get("id")
        return f"{self.type}/{rid}" if rid else (self.full_url or f"{self.type} ({self.where})")


@dataclass
class Parsed:
    """Validated resources of the mapped types, plus what was skipped and why."""

    entries: list[Entry] = field(default_factory=list)
    ignored: Counter[str] = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)


def _summarise(exc: ValidationError) -> str:
    errors = exc.errors()
    parts = [f"{'.'.join(str(p) for p in e['loc']) or '(resource)'}: {e['msg']}"
             for e in errors[:_MAX_ERRORS_SHOWN]]
    more = len(errors) - _MAX_ERRORS_SHOWN
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def validate_resource(resource: Mapping[str, Any], where: str) -> None:
    """Validate one resource against its R4 (R4B) model, or raise naming ``where``."""
    rtype = resource.get("resourceType")
    try:
        get_fhir_model_class(str(rtype)).model_validate(dict(resource))
    except ValidationError as exc:
        rid = resource.get("id")
        label = f"{rtype}/{rid}" if rid else str(rtype)
        raise FhirImportError(f"{where}: invalid {label}: {_summarise(exc)}") from exc


def outcome_warnings(resource: Mapping[str, Any], where: str) -> list[str]:
    """A Bulk Data error file's (or a Bundle's) OperationOutcome issues as partial-export
    warnings: the server says something was not exported."""
    issues = [i for i in resource.get("issue") or [] if isinstance(i, dict)][:_MAX_ISSUES]
    out = []
    for issue in issues:
        text = issue.get("diagnostics") or (issue.get("details") or {}).get("text") or ""
        out.append(f"{where}: partial export? the server reports {issue.get('severity', '?')} "
                   f"{issue.get('code', '?')}: {str(text)[:300] or '(no text)'}")
    return out or [f"{where}: the server sent an OperationOutcome without issues"]


def _accept(parsed: Parsed, resource: Any, where: str, full_url: str | None) -> None:
    if not isinstance(resource, dict):
        raise FhirImportError(f"{where}: a resource must be a JSON object, "
                              f"not {type(resource).__name__}")
    rtype = resource.get("resourceType")
    if not isinstance(rtype, str) or not rtype:
        raise FhirImportError(f"{where}: the resource has no resourceType")
    if rtype == "OperationOutcome":
        parsed.warnings += outcome_warnings(resource, where)
        return
    if rtype not in MAPPED_TYPES and not (is_session_encounter(resource)
                                          or is_followup_encounter(resource)):
        parsed.ignored[rtype] += 1
        return
    validate_resource(resource, where)
    parsed.entries.append(Entry(where, resource, full_url))


def _loads(text: str | bytes, where: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise FhirImportError(f"{where}: malformed JSON at line {exc.lineno} column "
                              f"{exc.colno}: {exc.msg}") from exc
    except UnicodeDecodeError as exc:
        raise FhirImportError(f"{where}: not UTF-8 text ({exc.reason})") from exc


def _check_bundle_shell(data: Mapping[str, Any], source: str) -> None:
    """Validate the bundle without its resources (those are checked one by one)."""
    shell = {k: v for k, v in data.items() if k != "entry"}
    entries = data.get("entry", [])
    if not isinstance(entries, list):
        raise FhirImportError(f"{source}: Bundle.entry must be a list")
    shell["entry"] = [{k: v for k, v in e.items() if k != "resource"} if isinstance(e, dict)
                      else e for e in entries]
    if not shell["entry"]:
        del shell["entry"]
    try:
        get_fhir_model_class("Bundle").model_validate(shell)
    except ValidationError as exc:
        raise FhirImportError(f"{source}: invalid Bundle: {_summarise(exc)}") from exc


def parse_bundle(data: str | bytes | Mapping[str, Any], source: str = "bundle") -> Parsed:
    """A transaction, batch, collection or searchset Bundle (JSON text or a parsed dict)."""
    if isinstance(data, str | bytes):
        data = _loads(data, source)
    if not isinstance(data, Mapping):
        raise FhirImportError(f"{source}: expected a JSON object (a FHIR Bundle)")
    if data.get("resourceType") != "Bundle":
        raise FhirImportError(f"{source}: expected resourceType Bundle, found "
                              f"{data.get('resourceType')!r}")
    btype = data.get("type")
    if btype not in SUPPORTED_BUNDLE_TYPES:
        raise FhirImportError(f"{source}: Bundle type {btype!r} is not supported (use one of "
                              f"{', '.join(SUPPORTED_BUNDLE_TYPES)})")
    _check_bundle_shell(data, source)
    parsed = Parsed()
    for index, entry in enumerate(data.get("entry", [])):
        where = f"{source} entry {index}"
        if not isinstance(entry, dict):
            raise FhirImportError(f"{where}: a Bundle entry must be a JSON object")
        if "resource" not in entry:
            continue  # e.g. a transaction DELETE: nothing to read
        method = (entry.get("request") or {}).get("method")
        if method == "DELETE":
            parsed.warnings.append(f"{where}: DELETE request ignored")
            continue
        if (entry.get("search") or {}).get("mode") == "outcome":
            if isinstance(entry.get("resource"), dict):
                parsed.warnings += outcome_warnings(entry["resource"], where)
            continue
        _accept(parsed, entry["resource"], where, entry.get("fullUrl"))
    log.info("%s: %d mapped resources, ignored %s", source, len(parsed.entries),
             dict(parsed.ignored) or "none")
    return parsed


def parse_resource(resource: Mapping[str, Any], source: str = "resource") -> Parsed:
    """One resource on its own (a Patient, an Observation, …), validated like an entry."""
    parsed = Parsed()
    _accept(parsed, dict(resource), source, None)
    return parsed


def _lines(source: str | bytes | Path | Iterable[str],
           name: str) -> tuple[str, Iterable[str]]:
    if isinstance(source, Path):
        return source.name, source.read_text(encoding="utf-8-sig").splitlines()
    if isinstance(source, bytes):
        try:
            source = source.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise FhirImportError(f"{name}: not UTF-8 text ({exc.reason})") from exc
    if isinstance(source, str):
        return name, source.splitlines()
    return name, source


def parse_ndjson(sources: str | bytes | Path | Iterable[str]
                 | list[str | bytes | Path], name: str = "ndjson") -> Parsed:
    """One or more NDJSON exports (one resource per line; blank lines skipped).

    A list of ``Path``/``bytes`` values is read as several files (a bulk export has one
    file per resource type); a plain string is the text of one file (called ``name`` in
    messages).
    """
    if isinstance(sources, list) and sources and all(
            isinstance(s, Path | bytes) for s in sources):
        files: list[Any] = list(sources)
    else:
        files = [sources]
    parsed = Parsed()
    for item in files:
        label, lines = _lines(item, name)
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            where = f"{label} line {number}"
            resource = _loads(line, where)
            if isinstance(resource, dict) and resource.get("resourceType") == "Bundle":
                raise FhirImportError(f"{where}: a Bundle inside NDJSON; NDJSON holds one "
                                      "resource per line")
            _accept(parsed, resource, where, None)
    log.info("ndjson: %d mapped resources, ignored %s", len(parsed.entries),
             dict(parsed.ignored) or "none")
    return parsed
