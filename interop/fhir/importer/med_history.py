"""Medication history: antidepressant trials, prior ketamine/esketamine, opioids by class.

Every MedicationRequest / MedicationStatement of a recognised drug is kept as a dated
record, whatever its status (a stopped antidepressant is history), except records entered
in error, cancelled, drafts and "not taken".

Antidepressant trials: the distinct antidepressant ingredients taken for an adequate
duration, ``ADEQUATE_TRIAL_DAYS`` = 28 days (4 weeks) from the first to the last record of
the ingredient. Rule and source: treatment-resistant depression is failure of ≥ 2
antidepressants "of adequate dose and duration" (EMA Guideline on clinical investigation of
medicinal products in the treatment of depression, EMA/CHMP/185423/2010 Rev. 2, 2013), and
an adequate duration is at least 4 weeks there; MGH-ATRQ (used in the esketamine trials)
asks 6 weeks, so 28 days is the lenient end and a setting. The record says neither whether
the dose was adequate nor whether the trial failed: the count is set with a warning naming
each trial, for the clinician to confirm or correct.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from interop.fhir.codes import Drug
from interop.fhir.importer.parse import Entry
from interop.fhir.util import Draft, day, effective_time, parse_time

log = logging.getLogger(__name__)
ADEQUATE_TRIAL_DAYS = 28
TRIAL_SOURCE = ("≥ 4 weeks per ingredient, EMA/CHMP/185423/2010 Rev. 2 (2013); dose "
                "adequacy and response are not in the record")
NOT_TAKEN = frozenset({"entered-in-error", "cancelled", "draft", "not-taken"})
CURRENT = frozenset({"active", "on-hold", "intended"})
_UNITS_DAYS = {"d": 1.0, "wk": 7.0, "mo": 30.0, "a": 365.0, "h": 1 / 24,
               "day": 1.0, "days": 1.0, "week": 7.0, "weeks": 7.0}


@dataclass(frozen=True)
class MedRecord:
    """One dated record of one ingredient."""

    drug: Drug
    ref: str
    start: datetime | None
    end: datetime | None


def _supply_days(resource: dict[str, Any]) -> float | None:
    dispense = resource.get("dispenseRequest") or {}
    supply = dispense.get("expectedSupplyDuration") or {}
    factor = _UNITS_DAYS.get(str(supply.get("code") or supply.get("unit") or "d"))
    if supply.get("value") is None or factor is None:
        return None
    fills = 1 + int(dispense.get("numberOfRepeatsAllowed") or 0)
    return float(supply["value"]) * factor * fills


def interval(entry: Entry, on: date) -> tuple[datetime | None, datetime | None]:
    """(start, end) of one record: a stated period; else start + supply; a current record
    runs to ``on`` (the date of the data); otherwise it is a single day."""
    res = entry.resource
    if entry.type == "MedicationStatement":
        period = res.get("effectivePeriod") or {}
        start = effective_time(res, "effectiveDateTime", "effectivePeriod", "dateAsserted")
        end = parse_time(period.get("end"))
    else:
        validity = (res.get("dispenseRequest") or {}).get("validityPeriod") or {}
        start = effective_time(res, "authoredOn") or parse_time(validity.get("start"))
        end = parse_time(validity.get("end"))
    if start is not None and end is None:
        supply = _supply_days(res)
        if supply is not None:
            end = start + timedelta(days=supply)
        elif res.get("status") in CURRENT:
            end = max(start, datetime.combine(on, datetime.min.time(), timezone.utc))
    return start, end or start


def count_trials(records: list[MedRecord], draft: Draft) -> None:
    """Set ``failed_ad_trials`` from adequate antidepressant trials (see the module doc)."""
    spans: dict[str, list[MedRecord]] = {}
    for record in records:
        if record.drug.antidepressant:
            spans.setdefault(record.drug.name, []).append(record)
    if not spans:
        return
    adequate, short = [], []
    for name, items in sorted(spans.items()):
        starts = [r.start for r in items if r.start]
        ends = [r.end for r in items if r.end]
        days = (max(ends) - min(starts)).days if starts and ends else None
        label = (f"{name} {days} days from {day(min(starts))}" if days is not None
                 else f"{name} undated")
        (adequate if days is not None and days >= ADEQUATE_TRIAL_DAYS else short).append(
            (label, [r.ref for r in items]))
    shorts = "; ".join(label for label, _ in short)
    if not adequate:
        draft.warn(f"antidepressants in the record but none taken for {ADEQUATE_TRIAL_DAYS}+ "
                   f"days ({shorts}); enter the number of failed antidepressant trials")
        return
    refs = [ref for _, group in adequate for ref in group]
    if draft.set("failed_ad_trials", len(adequate), refs):
        draft.warn(f"failed antidepressant trials = {len(adequate)}, counted from medication "
                   f"history ({'; '.join(label for label, _ in adequate)}; rule: "
                   f"{TRIAL_SOURCE}); confirm each trial failed"
                   + (f"; not counted (shorter): {shorts}" if short else ""))


def note_exposures(records: list[MedRecord], draft: Draft) -> None:
    """Prior ketamine/esketamine (no schema field: extras + a warning) and opioid classes."""
    ketamine = [r for r in records if r.drug.drug_class == "ketamine"]
    if ketamine:
        draft.extras["prior_ketamine"] = [
            {"drug": r.drug.name, "ref": r.ref, "start": day(r.start)} for r in ketamine]
        draft.warn("prior ketamine/esketamine exposure: " + "; ".join(
            f"{r.drug.name} ({r.ref}, {day(r.start)})" for r in ketamine)
            + ". The schema has no field for it: review the earlier response and side "
            "effects")
    opioids = {(r.drug.name, r.drug.subclass) for r in records
               if r.drug.drug_class == "opioid"}
    if opioids:
        draft.extras["opioid_classes"] = sorted(f"{n} ({c})" if c else n for n, c in opioids)
