"""Conditions (SNOMED CT, ICD-10) -> diagnoses, comorbidities, history and exclusions.

Only what a record states is used: an active condition sets its value, a refuted one sets
the negative ("no", "none"), and a condition that is absent from the bundle leaves the
feature missing for the clinician to enter, because an export may be incomplete.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from interop.fhir import codes
from interop.fhir.codes import ConditionRule
from interop.fhir.importer.parse import Entry
from interop.fhir.util import Draft, codings, day, effective_time
from models.contract import schema

log = logging.getLogger(__name__)

ACTIVE = frozenset({"active", "recurrence", "relapse"})
INACTIVE = frozenset({"inactive", "remission", "resolved"})
UNCONFIRMED = frozenset({"unconfirmed", "provisional", "differential"})
REMISSION_MIN_DAYS = 365  # clinical-reference §4: remission of at least a year


@dataclass
class _Votes:
    """What the records say about one feature."""

    values: list[tuple[Any, str]] = field(default_factory=list)  # (value, ref)
    unknown: list[tuple[str, str]] = field(default_factory=list)  # (ref, code text)


def _match(concept: Any) -> list[tuple[ConditionRule, str, str]]:
    """Rules matched by a concept's codings, with the code (``ICD-10 F43.1``) that matched."""
    found = []
    for system, code, _ in codings(concept):
        bare = code.replace(".", "").upper()
        for rule in codes.CONDITION_RULES:
            if system == codes.SNOMED and code in rule.snomed:
                found.append((rule, code, f"SNOMED {code}"))
            elif rule.matches_icd10(system, code):
                found.append((rule, bare, f"ICD-10 {code}"))
    seen, unique = set(), []
    for rule, code, text in found:  # one vote per feature per record
        if rule.feature not in seen:
            seen.add(rule.feature)
            unique.append((rule, code, text))
    return unique


def _status(concept: Any) -> str:
    for _, code, _ in codings(concept):
        if code:
            return code
    return ""


def _negative(rule: ConditionRule) -> Any:
    spec = schema.feature(rule.feature)
    if spec.dtype == "bool" and rule.value is True:
        return False
    if rule.feature in codes.SEVERITY:
        return "none"
    return None


def _vote(rule: ConditionRule, code: str, text: str, entry: Entry, draft: Draft,
          votes: dict[str, _Votes]) -> None:
    res = entry.resource
    verification = _status(res.get("verificationStatus"))
    clinical = _status(res.get("clinicalStatus")) or "active"
    box = votes.setdefault(rule.feature, _Votes())
    label = f"{entry.ref} ({text})"
    if verification == "entered-in-error":
        return
    if verification in UNCONFIRMED:
        draft.warn(f"{label}: {verification} diagnosis not used; confirm it")
        return
    if verification == "refuted":
        negative = _negative(rule)
        if negative is not None:
            box.values.append((negative, entry.ref))
        return
    remission_code = rule.key == "substance_use" and code.startswith("F1") \
        and code[3:5] in codes.ICD10_REMISSION
    if rule.key == "substance_use" and (remission_code or clinical in INACTIVE):
        box.values.append(("remission", entry.ref))
        _check_remission(res, label, draft)
        return
    if clinical in INACTIVE and not rule.history:
        draft.warn(f"{label}: {clinical}, so not counted as current")
        return
    if rule.value is None:
        box.unknown.append((entry.ref, text))
    else:
        box.values.append((rule.value, entry.ref))


def _check_remission(res: dict[str, Any], label: str, draft: Draft) -> None:
    since = effective_time(res, "abatementDateTime", "abatementPeriod")
    cutoff = datetime.combine(draft.reference_date, datetime.min.time(), timezone.utc) \
        - timedelta(days=REMISSION_MIN_DAYS)
    if since is None or since > cutoff:
        started = f"since {day(since)}" if since else "with no abatement date"
        draft.warn(f"{label}: substance use in remission {started}; confirm the remission "
                   "has lasted at least a year")


def _settle(feature: str, box: _Votes, draft: Draft) -> None:
    spec = schema.feature(feature)
    refs = [ref for _, ref in box.values]
    unknown_refs = ", ".join(f"{r} ({t})" for r, t in box.unknown)
    if spec.dtype == "bool":
        positive = [ref for value, ref in box.values if value is True]
        if positive:
            draft.set(feature, True, positive)
        elif box.unknown:
            draft.warn(_unknown_message(feature, unknown_refs))
        elif box.values:
            draft.set(feature, False, refs)
        return
    order = codes.SEVERITY[feature]
    definite = [value for value, _ in box.values]
    top = max(definite, key=order.index) if definite else None
    if box.unknown and top != order[-1]:
        draft.warn(_unknown_message(feature, unknown_refs))
        return
    if top is not None:
        draft.set(feature, top, [ref for value, ref in box.values if value == top])


def _unknown_message(feature: str, refs: str) -> str:
    spec = schema.feature(feature)
    if feature == "dx_trd":
        return (f"depression is recorded ({refs}) but not as treatment-resistant; enter "
                f"'{spec.label}' and the number of failed antidepressant trials")
    choices = " or ".join(c for c in spec.categories if c != "none")
    return (f"{spec.label.lower()} is recorded ({refs}) but the code does not say whether it "
            f"is {choices}; enter it")


def map_conditions(entries: list[Entry], draft: Draft, pregnancy_obs: bool | None) -> None:
    """Fill diagnosis, comorbidity, history and exclusion features from Conditions."""
    votes: dict[str, _Votes] = {}
    for entry in entries:
        if entry.type != "Condition":
            continue
        matched = _match(entry.resource.get("code"))
        if not matched and _status(entry.resource.get("verificationStatus")) \
                != "entered-in-error":
            draft.unmapped_codes(entry, entry.resource.get("code"))
        elif matched:
            draft.mapped_code(entry)
        for rule, code, text in matched:
            _vote(rule, code, text, entry, draft, votes)
    if pregnancy_obs is not None:
        box = votes.setdefault("pregnant", _Votes())
        box.values.append((pregnancy_obs, draft.evidence.pop("pregnant", ["Observation"])[0]))
    for feature, box in votes.items():
        _settle(feature, box, draft)
    present = [code for code, label in zip(schema.DIAGNOSES, schema.DIAGNOSIS_LABELS,
                                           strict=True)
               if draft.values.get(f"dx_{code}") is True]
    if present:
        draft.warn("primary indication is not coded in FHIR; recorded indications: "
                   + ", ".join(present) + " (choose one)")
