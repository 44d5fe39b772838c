"""Loading the value-set files and expanding them once (at first use, cached).

Why data files: a clinician or terminologist reviews one JSON per domain, each code with
where it came from, and the version travels with the code. Expansion:
- SNOMED CT: a concept and the descendants listed under it (no SNOMED release ships with
  the project; the lists hold what EHRs and Synthea send). A code listed as a concept of
  one group is never also claimed as a descendant by another group of the same input.
- ICD-10-CM: each listed code or range (``F20-F29``) with all its descendants, from the
  ``simple_icd_10_cm`` package (the CMS tabular list, bundled, offline). A code that is not
  in that release is a data error and stops the expansion. The package takes seconds to
  load, so the expansion runs at build time (``python -m interop.fhir.terminology.valuesets``)
  into ``conditions.expanded.json``, which records the hash of the ``conditions.json`` it was
  made from: a stale expansion stops the load, and a test re-expands and compares.
- ICD-10 (WHO): the same categories matched by prefix (the WHO codes differ below them).
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
FOLDER = Path(__file__).resolve().parent
EXPANDED = "conditions.expanded.json"


class TerminologyError(ValueError):
    """A value-set file is malformed or names a code its code system does not have."""


@dataclass(frozen=True)
class ConditionGroup:
    """One group of a condition value set, expanded."""

    key: str
    feature: str
    value: object
    history: bool
    snomed: frozenset[str]
    icd10cm: frozenset[str]  # expanded codes, no dots, upper case
    icd10_prefixes: tuple[str, ...]  # for ICD-10 (WHO) and codes of other CM releases
    icd10_exclude: tuple[str, ...]


def _bare(code: str) -> str:
    return code.replace(".", "").upper().strip()


def _icd10cm() -> Any:
    with warnings.catch_warnings():  # the package reads its data with a deprecated API
        warnings.simplefilter("ignore", DeprecationWarning)
        import simple_icd_10_cm

    return simple_icd_10_cm


def _icd_entry(code: str, where: str) -> tuple[set[str], list[str]]:
    """(every ICD-10-CM code below ``code`` incl. itself, its 3-character prefixes)."""
    icd10cm = _icd10cm()
    if not icd10cm.is_valid_item(code):
        raise TerminologyError(f"{where}: {code!r} is not an ICD-10-CM code or range")
    items = [code, *icd10cm.get_descendants(code)]
    codes = {_bare(c) for c in items if "-" not in c}
    if "-" in code:
        prefixes = sorted(_bare(c) for c in items if icd10cm.is_category(c))
    else:
        prefixes = [_bare(code)]
    return codes, prefixes


def _digest(name: str) -> str:
    return hashlib.sha256((FOLDER / name).read_bytes()).hexdigest()


def expand(doc: dict[str, Any]) -> dict[str, Any]:
    """The ICD-10-CM expansion of a condition value-set document (needs the package)."""
    groups = []
    for group in doc["groups"]:
        cm: set[str] = set()
        prefixes: list[str] = []
        for entry in group.get("icd10", []):
            codes, pre = _icd_entry(str(entry["code"]), f"conditions.json {group['key']}")
            cm |= codes
            prefixes += pre
        exclude = tuple(_bare(c) for c in group.get("icd10_exclude", []))
        groups.append({"key": group["key"],
                       "icd10cm": sorted(c for c in cm if not exclude or
                                         not c.startswith(exclude)),
                       "icd10_prefixes": [p for p in prefixes if not exclude or
                                          not p.startswith(exclude)]})
    return {"made_from": {"conditions.json": doc["version"]},
            "simple_icd_10_cm": _package_version(), "groups": groups}


def write_expansion() -> Path:
    """Re-expand conditions.json into conditions.expanded.json (a build step)."""
    out = expand(read("conditions.json"))
    out["made_from"]["sha256"] = _digest("conditions.json")
    path = FOLDER / EXPANDED
    path.write_text(json.dumps(out, indent=0) + "\n", encoding="utf-8")
    return path


def _snomed(group: dict[str, Any]) -> tuple[set[str], set[str]]:
    concepts = {str(c["code"]) for c in group.get("snomed", [])}
    below = {str(d["code"]) for c in group.get("snomed", []) for d in c.get("descendants", [])}
    return concepts, below


def _check_sources(doc: dict[str, Any], name: str) -> None:
    sources = set(doc.get("sources", {}))
    for group in doc.get("groups", []):
        for item in [*group.get("snomed", []), *group.get("icd10", []),
                     *(d for c in group.get("snomed", []) for d in c.get("descendants", []))]:
            if item.get("source") not in sources:
                raise TerminologyError(f"{name} {group.get('key')}: code {item.get('code')} "
                                       f"has no known source ({item.get('source')!r})")


def read(name: str) -> dict[str, Any]:
    """One value-set file of this folder, parsed (a malformed file raises)."""
    try:
        return json.loads((FOLDER / name).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise TerminologyError(f"{name}: cannot read the value-set file: {exc}") from exc


@lru_cache(maxsize=1)
def condition_groups() -> tuple[ConditionGroup, ...]:
    """The condition value sets with their expansion, checked to match (loaded once)."""
    doc = read("conditions.json")
    _check_sources(doc, "conditions.json")
    expanded = read(EXPANDED)
    if expanded.get("made_from", {}).get("sha256") != _digest("conditions.json"):
        raise TerminologyError(f"{EXPANDED} was not made from this conditions.json; run "
                               "python -m interop.fhir.terminology.valuesets")
    icd = {g["key"]: g for g in expanded["groups"]}
    groups = doc["groups"]
    concepts_by_feature: dict[str, set[str]] = {}
    for group in groups:
        concepts_by_feature.setdefault(group["feature"], set()).update(_snomed(group)[0])
    out = []
    for group in groups:
        concepts, below = _snomed(group)
        below -= concepts_by_feature[group["feature"]] - concepts  # concepts win
        expansion = icd.get(group["key"], {})
        out.append(ConditionGroup(group["key"], group["feature"], group["value"],
                                  bool(group.get("history")), frozenset(concepts | below),
                                  frozenset(expansion.get("icd10cm", [])),
                                  tuple(expansion.get("icd10_prefixes", [])),
                                  tuple(_bare(c) for c in group.get("icd10_exclude", []))))
    log.info("conditions.json %s: %d groups, %d SNOMED and %d ICD-10-CM codes", doc["version"],
             len(out), sum(len(g.snomed) for g in out), sum(len(g.icd10cm) for g in out))
    return tuple(out)


@lru_cache(maxsize=1)
def medication_doc() -> dict[str, Any]:
    """The medication value set (ingredients, ATC classes, sources), checked."""
    doc = read("medications.json")
    sources = set(doc.get("sources", {}))
    for item in doc["ingredients"]:
        for key in ("source", "rxnorm_source", "atc_source"):
            value = item.get(key)
            if value and not str(value).startswith("unsourced") and value not in sources:
                raise TerminologyError(f"medications.json {item['name']}: unknown {key} "
                                       f"{value!r}")
        for product in item.get("products", []):
            if product.get("source") not in sources:
                raise TerminologyError(f"medications.json {item['name']}: product "
                                       f"{product.get('code')} has no known source")
    return doc


def versions() -> dict[str, str]:
    """The version of each value-set file (for import reports and model cards)."""
    return {"conditions.json": read("conditions.json")["version"],
            "medications.json": medication_doc()["version"],
            "simple_icd_10_cm": str(read(EXPANDED).get("simple_icd_10_cm"))}


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("simple_icd_10_cm")
    except PackageNotFoundError:  # pragma: no cover - a dev dependency
        return "unknown"


if __name__ == "__main__":  # the build step: re-expand ICD-10-CM after editing the file
    logging.basicConfig(level=logging.INFO)
    sys.stdout.write(f"wrote {write_expansion()}\n")
