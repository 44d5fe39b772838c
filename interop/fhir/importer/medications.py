"""MedicationStatement / MedicationRequest -> benzodiazepine dose and the caution flags.

Drugs are recognised by RxNorm ingredient code or by name (product codes such as
"lorazepam 1 MG Oral Tablet" are matched through their display text). Benzodiazepine doses
become diazepam-equivalent mg/day with the table in ``interop.fhir.codes``; a dose that
cannot be worked out from the record is left missing, never estimated.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from interop.fhir import codes
from interop.fhir.codes import Drug
from interop.fhir.importer.med_history import (
    NOT_TAKEN,
    MedRecord,
    count_trials,
    interval,
    note_exposures,
)
from interop.fhir.importer.parse import Entry
from interop.fhir.refs import ReferenceIndex, reference_of
from interop.fhir.util import Draft, codings, concept_text, effective_time

log = logging.getLogger(__name__)

_BY_RXNORM = {d.rxnorm: d for d in codes.DRUGS if d.rxnorm}
_BY_RXNORM.update({p: d for d in codes.DRUGS for p in d.products})  # clinical/branded drugs
_BY_ATC = {d.atc: d for d in codes.DRUGS if d.atc}
_NAME_PATTERNS = [(re.compile(r"\b(" + "|".join(re.escape(n) for n in (d.name, *d.aliases))
                              + r")\b", re.IGNORECASE), d) for d in codes.DRUGS]
_STRENGTH = re.compile(r"(\d+(?:\.\d+)?)\s*(mg|mcg|ug)\b", re.IGNORECASE)
_TABLET_UNITS = frozenset({"{tbl}", "{tablet}", "{tab}", "tab", "tabs", "tablet", "tablets",
                           "{capsule}", "capsule", "capsules", "cap", "1"})
_SOLID_FORM = re.compile(r"\b(oral tablet|tablet|capsule)s?\b", re.IGNORECASE)
_EARLIEST = datetime.min.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class _Use:
    drug: Drug
    ref: str
    when: datetime | None
    order: int
    daily_mg: float | None
    note: str


def _medication(entry: Entry, index: ReferenceIndex) -> dict[str, Any] | None:
    """The CodeableConcept naming the drug: inline, or a Medication referenced in any form
    (contained ``#med1``, relative, absolute, versioned, ``urn:uuid:``)."""
    res = entry.resource
    if isinstance(res.get("medicationCodeableConcept"), dict):
        return res["medicationCodeableConcept"]
    target = index.resolve(reference_of(res.get("medicationReference")), entry)
    if target is not None and target.type == "Medication":
        return {**(target.resource.get("code") or {}), "_medication": target.resource}
    return None


def drugs_named(concept: dict[str, Any]) -> list[Drug]:
    """Ingredients named by RxNorm (ingredient or product), ATC (ingredient level) or by
    name or brand in the text."""
    found = [_BY_RXNORM[c] for s, c, _ in codings(concept) if s == codes.RXNORM and c in _BY_RXNORM]
    found += [_BY_ATC[c] for s, c, _ in codings(concept) if s == codes.ATC and c in _BY_ATC]
    text = concept_text(concept)
    found += [drug for pattern, drug in _NAME_PATTERNS if pattern.search(text)]
    return list(dict.fromkeys(found))


def atc_class(concept: dict[str, Any]) -> str | None:
    """The drug class of an ATC class code (``N06A`` …), longest prefix first."""
    for system, code, _ in codings(concept):
        if system != codes.ATC:
            continue
        for prefix in sorted(codes.ATC_CLASSES, key=len, reverse=True):
            if code.upper().startswith(prefix):
                return codes.ATC_CLASSES[prefix]
    return None


def _strength_mg(concept: dict[str, Any]) -> float | None:
    """Strength per tablet from Medication.ingredient or the product name (one strength)."""
    medication = concept.get("_medication") or {}
    for ingredient in medication.get("ingredient") or []:
        numerator = (ingredient.get("strength") or {}).get("numerator") or {}
        factor = codes.DOSE_MG.get(str(numerator.get("code") or numerator.get("unit") or ""))
        if factor and numerator.get("value") is not None:
            return float(numerator["value"]) * factor
    strengths = {float(v) * codes.DOSE_MG[u.lower()] for v, u in
                 _STRENGTH.findall(concept_text(concept))}
    return strengths.pop() if len(strengths) == 1 else None


def _per_day(timing: Any) -> float | None:
    if not isinstance(timing, dict):
        return None
    repeat = timing.get("repeat") or {}
    if repeat.get("period"):
        unit = codes.PERIOD_DAYS.get(str(repeat.get("periodUnit") or "d"))
        if unit is None:
            return None
        return float(repeat.get("frequency") or 1) / (float(repeat["period"]) * unit)
    for _, code, _ in codings(timing.get("code")):
        if code.upper() in codes.TIMING_PER_DAY:
            return codes.TIMING_PER_DAY[code.upper()]
    return None


def _daily_mg(dosages: list[Any], concept: dict[str, Any]) -> tuple[float | None, str]:
    """Sum of dose x administrations/day over the dosage lines, or (None, why not)."""
    total, prn, unitless = 0.0, False, False
    if not dosages:
        return None, "no dosage"
    for dosage in dosages:
        prn = prn or bool(dosage.get("asNeededBoolean") or dosage.get("asNeededCodeableConcept"))
        dose = next((d.get("doseQuantity") for d in dosage.get("doseAndRate") or []
                     if d.get("doseQuantity")), None)
        per_day = _per_day(dosage.get("timing"))
        if dose is None or dose.get("value") is None or per_day is None:
            return None, "dose or frequency not stated"
        unit = str(dose.get("code") or dose.get("unit") or "").strip()
        if not unit and _SOLID_FORM.search(concept_text(concept)):
            unit, unitless = "1", True  # Synthea writes tablet counts without a unit
        if unit.lower() in codes.DOSE_MG:
            mg = float(dose["value"]) * codes.DOSE_MG[unit.lower()]
        elif unit.lower() in _TABLET_UNITS:
            strength = _strength_mg(concept)
            if strength is None:
                return None, "tablet strength unknown"
            mg = float(dose["value"]) * strength
        else:
            return None, f"dose unit {unit!r} not understood"
        total += mg * per_day
    notes = (["as needed: dose assumes it is taken as prescribed"] if prn else []) + \
        (["a dose without a unit is read as tablets of the named product"] if unitless else [])
    return total, "; ".join(notes)


def _uses(entries: list[Entry], draft: Draft) -> tuple[list[_Use], list[MedRecord]]:
    """Current uses (for doses and flags) and every dated record (for history)."""
    index = ReferenceIndex([e for e in entries if e.type == "Medication"])
    uses, history = [], []
    for order, entry in enumerate(entries):
        if entry.type == "MedicationStatement":
            active, dosages = codes.MED_STATEMENT_ACTIVE, entry.resource.get("dosage") or []
            when = effective_time(entry.resource, "effectiveDateTime", "effectivePeriod",
                                  "dateAsserted")
        elif entry.type == "MedicationRequest":
            active = codes.MED_REQUEST_ACTIVE
            dosages = entry.resource.get("dosageInstruction") or []
            when = effective_time(entry.resource, "authoredOn")
        else:
            continue
        concept = _medication(entry, index)
        if concept is None:
            draft.warn(f"{entry.ref}: the medication could not be resolved; not read")
            continue
        drugs = drugs_named(concept)
        if drugs or atc_class(concept):
            draft.mapped_code(entry)
        elif entry.resource.get("status") != "entered-in-error":
            draft.unmapped_codes(entry, concept)
        if entry.resource.get("status") not in NOT_TAKEN:
            start, end = interval(entry, draft.reference_date)
            history += [MedRecord(drug, entry.ref, start, end) for drug in drugs]
        if entry.resource.get("status") not in active:
            log.debug("%s: status %s, not current", entry.ref, entry.resource.get("status"))
            continue
        if not drugs and atc_class(concept) in codes.CLASS_FEATURE:  # e.g. N02A: an opioid
            drugs = [Drug(f"ATC {atc_class(concept)} class", str(atc_class(concept)))]
        elif not drugs and atc_class(concept):
            draft.warn(f"{entry.ref}: ATC class {atc_class(concept)} without a recognised "
                       "ingredient; enter the drug and dose")
        for drug in drugs:
            mg, note = _daily_mg(dosages, concept) if drug.drug_class == "benzodiazepine" \
                else (None, "")
            uses.append(_Use(drug, entry.ref, when, order, mg, note))
    return uses, history


def map_medications(entries: list[Entry], draft: Draft) -> None:
    """Fill ``benzo_dose_mg`` and the MAOI / stimulant / opioid flags from current drugs,
    and ``failed_ad_trials`` and prior ketamine exposure from the history."""
    uses, history = _uses(entries, draft)
    count_trials(history, draft)
    note_exposures(history, draft)
    for drug_class, feature in codes.CLASS_FEATURE.items():
        refs = [u.ref for u in uses if u.drug.drug_class == drug_class]
        if refs:
            draft.set(feature, True, refs)
    for use in uses:
        if use.drug.drug_class == "z_drug":
            draft.warn(f"{use.ref}: {use.drug.name} is a Z-drug, not counted in the "
                       "benzodiazepine dose")
    latest: dict[str, _Use] = {}
    for use in uses:  # one record per ingredient: a request and a statement of the same drug
        if use.drug.drug_class != "benzodiazepine":
            continue
        seen = latest.get(use.drug.name)
        if seen is None or (use.when or _EARLIEST, use.order) > (seen.when or _EARLIEST,
                                                                  seen.order):
            latest[use.drug.name] = use
    if not latest:
        return
    total, refs = 0.0, []
    for use in latest.values():
        equivalent = use.drug.equivalent_to_10mg_diazepam
        if use.daily_mg is None or equivalent is None:
            why = use.note if use.daily_mg is None else "no diazepam equivalence in the table"
            draft.warn(f"{use.ref}: {use.drug.name} found but its diazepam-equivalent dose "
                       f"cannot be calculated ({why}); enter the benzodiazepine dose")
            return
        if use.note:
            draft.warn(f"{use.ref}: {use.drug.name} {use.note}")
        total += use.daily_mg * 10.0 / equivalent
        refs.append(use.ref)
    if draft.set("benzo_dose_mg", total, refs):
        parts = ", ".join(f"{u.drug.name} {u.daily_mg:g} mg/day" for u in latest.values())
        draft.warn(f"benzodiazepine dose {total:.1f} mg/day diazepam-equivalent from {parts} "
                   f"({codes.ASHTON})")
