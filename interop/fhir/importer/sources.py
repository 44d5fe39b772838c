"""Reading any FHIR R4 JSON input, its format told by content rather than by file name.

One JSON document is a Bundle or a single resource; several lines of one JSON object
each are NDJSON (a ``.json`` file holding NDJSON works); a folder is a Bulk Data export
(``Patient.000.ndjson``, ``Condition.000.ndjson``, …) read as one input, so references
between its files resolve. A Bulk Data status manifest (``transactionTime`` +
``output``) in the folder is recognised and skipped.
"""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from interop.fhir.importer.parse import (
    FhirImportError,
    Parsed,
    parse_bundle,
    parse_ndjson,
    parse_resource,
)

log = logging.getLogger(__name__)
FOLDER_SUFFIXES = (".json", ".ndjson", ".jsonl")
GZIP_SUFFIX = ".gz"  # Patient.000.ndjson.gz, as many Bulk Data servers write
MAX_UNZIPPED = 2 * 1024**3  # refuse a .gz that inflates beyond 2 GiB (a zip bomb)
BUNDLE, RESOURCE, NDJSON = "FHIR R4 Bundle", "FHIR R4 resource", "FHIR R4 NDJSON"


@dataclass
class Source:
    """What was read: the validated resources, the formats met and the files read."""

    parsed: Parsed
    formats: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    @property
    def format(self) -> str:
        """``FHIR R4 NDJSON`` when any part was NDJSON, else the one format met."""
        if NDJSON in self.formats:
            return NDJSON
        return self.formats[0] if len(set(self.formats)) == 1 else "FHIR R4"


def _is_manifest(data: Any) -> bool:
    return isinstance(data, dict) and "resourceType" not in data \
        and isinstance(data.get("output"), list) and "transactionTime" in data


def _decode(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:  # issue 24: say which line (NDJSON: which resource)
        line = data.count(b"\n", 0, exc.start) + 1
        raise FhirImportError(f"{source}: line {line} is not UTF-8 text ({exc.reason} at "
                              f"byte {exc.start}); save the file as UTF-8") from exc


def _looks_like_ndjson(text: str) -> bool:
    """More than one non-blank line and the first one is a JSON object on its own."""
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) < 2:
        return False
    try:
        return isinstance(json.loads(lines[0]), dict)
    except json.JSONDecodeError:
        return False


def _parse_document(data: Any, source: str) -> tuple[Parsed, str]:
    if _is_manifest(data):
        raise FhirImportError(f"{source}: a Bulk Data export manifest, not FHIR data; import "
                              "the folder that holds its output files")
    if not isinstance(data, Mapping):
        raise FhirImportError(f"{source}: expected a JSON object (a FHIR Bundle or resource), "
                              f"found a JSON {type(data).__name__}")
    if data.get("resourceType") == "Bundle":
        return parse_bundle(data, source), BUNDLE
    return parse_resource(data, source), RESOURCE


def parse_text(text: str | bytes, source: str) -> tuple[Parsed, str]:
    """One file's content: a Bundle, one resource, or NDJSON (told by content)."""
    if isinstance(text, bytes):
        text = _decode(text, source)
    if not text.strip():
        raise FhirImportError(f"{source}: the file is empty")
    try:
        return _parse_document(json.loads(text), source)
    except json.JSONDecodeError as exc:
        if not _looks_like_ndjson(text):
            raise FhirImportError(f"{source}: malformed JSON at line {exc.lineno} column "
                                  f"{exc.colno}: {exc.msg}") from exc
    return parse_ndjson(text, name=source), NDJSON


def _merge(into: Source, parsed: Parsed, fmt: str, name: str) -> None:
    into.parsed.entries.extend(parsed.entries)
    into.parsed.ignored.update(parsed.ignored)
    into.parsed.warnings.extend(parsed.warnings)
    into.formats.append(fmt)
    into.files.append(name)


def _data_file(path: Path) -> bool:
    name = path.name.lower()
    if name.endswith(GZIP_SUFFIX):
        name = name[: -len(GZIP_SUFFIX)]
    return path.is_file() and not path.name.startswith(".") \
        and name.endswith(FOLDER_SUFFIXES)


def read_bytes(path: Path) -> bytes:
    """A file's bytes, gunzipped for ``.gz`` (with a size limit)."""
    if not path.name.lower().endswith(GZIP_SUFFIX):
        return path.read_bytes()
    try:
        with gzip.open(path, "rb") as handle:
            data = handle.read(MAX_UNZIPPED + 1)
    except (OSError, EOFError) as exc:
        raise FhirImportError(f"{path.name}: not a readable gzip file ({exc})") from exc
    if len(data) > MAX_UNZIPPED:
        raise FhirImportError(f"{path.name}: inflates beyond {MAX_UNZIPPED // 1024**3} GiB; "
                              "refused")
    return data


def _folder(folder: Path) -> Source:
    files = sorted(p for p in folder.iterdir() if _data_file(p))
    if not files:
        raise FhirImportError(f"{folder}: no {', '.join(FOLDER_SUFFIXES)} files (or .gz of "
                              "them) in the folder")
    out = Source(Parsed())
    for path in files:
        text = _decode(read_bytes(path), path.name)
        try:
            if _is_manifest(json.loads(text)):
                log.info("%s: Bulk Data manifest, skipped", path.name)
                continue
        except json.JSONDecodeError:
            pass
        parsed, fmt = parse_text(text, path.name)
        _merge(out, parsed, fmt, path.name)
    if not out.files:
        raise FhirImportError(f"{folder}: only a Bulk Data manifest, no data files")
    return out


def read_source(data: str | bytes | Path | Mapping[str, Any] | list[Path],
                source: str | None = None) -> Source:
    """Read a file or folder path, a list of files, JSON text/bytes or a parsed dict."""
    if isinstance(data, Path):
        if data.is_dir():
            return _folder(data)
        if not data.is_file():
            raise FhirImportError(f"{data}: no such file or folder")
        parsed, fmt = parse_text(read_bytes(data), source or data.name)
        return Source(parsed, [fmt], [data.name])
    if isinstance(data, list):
        out = Source(Parsed())
        for path in data:
            parsed, fmt = parse_text(read_bytes(path), path.name)
            _merge(out, parsed, fmt, path.name)
        return out
    if isinstance(data, Mapping):
        parsed, fmt = _parse_document(data, source or "input")
        return Source(parsed, [fmt], [source or "input"])
    parsed, fmt = parse_text(data, source or "input")
    return Source(parsed, [fmt], [source or "input"])
