"""Small helpers shared by the FHIR mappers: codings, dates, and the draft being filled."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

from models.contract import schema

_PARTIAL = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


def codings(concept: Any) -> list[tuple[str, str, str]]:
    """(system, code, display) of every coding in a CodeableConcept (dict or None)."""
    if not isinstance(concept, dict):
        return []
    return [(str(c.get("system") or ""), str(c.get("code") or ""), str(c.get("display") or ""))
            for c in concept.get("coding") or [] if isinstance(c, dict)]


def has_code(concept: Any, system: str | tuple[str, ...], code: str) -> bool:
    """True when the concept carries ``code`` in ``system`` (or one of several systems)."""
    systems = (system,) if isinstance(system, str) else system
    return any(s in systems and c == code for s, c, _ in codings(concept))


def concept_text(concept: Any) -> str:
    """Every human-readable name in a concept (text and coding displays), lower case."""
    if not isinstance(concept, dict):
        return ""
    parts = [str(concept.get("text") or "")] + [d for _, _, d in codings(concept)]
    return " ".join(p for p in parts if p).lower()


def source_file(where: str) -> str:
    """The file (or input) part of a location such as ``Condition.000.ndjson line 6``."""
    for marker in (" line ", " entry "):
        if marker in where:
            return where.rsplit(marker, 1)[0]
    return where


def parse_time(value: Any) -> datetime | None:
    """A FHIR date, dateTime or instant as an aware UTC datetime (partial dates: the start
    of the period). None for missing or unreadable values."""
    if not isinstance(value, str) or not value:
        return None
    match = _PARTIAL.match(value)
    if match:
        year, month, day = (int(g) if g else 1 for g in match.groups())
        try:
            return datetime(year, month, day, tzinfo=timezone.utc)
        except ValueError:
            return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def effective_time(resource: dict[str, Any], *fields: str) -> datetime | None:
    """The first readable time among ``fields`` (a ``*Period`` field gives its start)."""
    for name in fields:
        value = resource.get(name)
        if isinstance(value, dict):
            value = value.get("start") or value.get("end")
        parsed = parse_time(value)
        if parsed is not None:
            return parsed
    return None


def day(moment: datetime | None) -> str:
    """A date for messages, e.g. ``2025-03-02`` (or ``undated``)."""
    return moment.date().isoformat() if moment else "undated"


@dataclass
class Draft:
    """The patient being assembled: values, the resources behind each, and warnings."""

    reference_date: date
    values: dict[str, Any] = field(default_factory=dict)
    evidence: dict[str, list[str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)  # read, but not schema features
    # Codes met that map to nothing: (file, resource type, system, code, display).
    unmapped: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    mapped: dict[str, int] = field(default_factory=dict)  # resource type -> coded records used

    def mapped_code(self, entry: Any) -> None:
        """Count a coded record whose code fed (or was read for) a model input."""
        self.mapped[entry.type] = self.mapped.get(entry.type, 0) + 1

    def unmapped_codes(self, entry: Any, concept: Any) -> None:
        """Record every coding of a record that maps to nothing, so it is reported, not
        dropped in silence (a concept with only text is reported with an empty code)."""
        found = codings(concept) or [("", "", concept_text(concept))]
        for system, code, display in found:
            self.unmapped.append((source_file(entry.where), entry.type, system, code,
                                  display or concept_text(concept)))

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def set(self, name: str, value: Any, refs: list[str]) -> bool:
        """Record a feature if it lies in the schema's range; otherwise warn and leave it
        missing (an out-of-range value is never clipped into range)."""
        spec = schema.feature(name)
        if spec.dtype in ("int", "float"):
            number = float(value)
            if spec.dtype == "int":
                value = int(round(number))
            else:
                value = round(number, 2)
            if (spec.min is not None and value < spec.min) or \
                    (spec.max is not None and value > spec.max):
                self.warn(f"{spec.label} {value:g} {spec.unit} ({', '.join(refs)}) is outside "
                          f"the allowed range ({spec.allowed_text()}); left missing")
                return False
        elif spec.dtype == "category" and value not in spec.categories:
            raise ValueError(f"{name}: {value!r} is not a schema category")
        self.values[name] = value
        self.evidence[name] = list(dict.fromkeys(refs))
        return True


DATA_ABSENT_REASON = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
NO_SCREENING_TIME = ("Effective time left out: KAP-CDS stores this screening value without the "
                     "date it was measured, and the export time is not a measurement time.")
NO_SESSION_TIME = ("Effective time left out: the date and time of this session were not "
                   "recorded.")
NO_VISIT_TIME = "Effective time left out: the date of this follow-up visit was not recorded."


def absent(code: str = "unknown") -> dict[str, Any]:
    """An element's data-absent-reason extension (why a value is missing, never invented)."""
    return {"extension": [{"url": DATA_ABSENT_REASON, "valueCode": code}]}


def set_time(resource: dict[str, Any], element: str, moment: str | None,
             reason: str) -> dict[str, Any]:
    """``resource[element] = moment``, or, with no recorded moment, the element's
    data-absent-reason and ``reason`` as a note: a time nobody recorded is never written and
    never left out silently (issue 23)."""
    resource.pop(element, None)
    if moment:
        resource[element] = moment
        return resource
    resource[f"_{element}"] = absent()
    resource["note"] = [*(resource.get("note") or []), {"text": reason}]
    return resource
