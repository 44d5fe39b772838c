"""Observations -> scales, vital signs and BMI, by LOINC code, with UCUM unit conversion.

The latest reading by effective time wins (a screening uses the patient's current state);
a reading in a unit that cannot be converted is skipped with a warning, never guessed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from interop.fhir import codes
from interop.fhir.importer.parse import Entry
from interop.fhir.importer.scales import (
    ITEM9_READINGS,
    PHQ9_ITEM9,
    SCALES,
    ScaleScore,
    answer_score,
    flag_item9,
    note_item9,
    panel_score,
    questionnaire_scores,
)
from interop.fhir.inputs import INPUT_SYSTEM
from interop.fhir.refs import ReferenceIndex
from interop.fhir.util import Draft, codings, day, effective_time, has_code

log = logging.getLogger(__name__)

SCALE_READINGS = "scale_readings"
FOLLOWUP_SCALES = {"phq9_baseline": "phq9", "gad7_baseline": "gad7"}  # feature -> visit field
STALE_AFTER_DAYS = 365  # *unsourced*: older screening values are flagged for review
_EARLIEST = datetime.min.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class Reading:
    """One value of one quantity (a schema feature, or body weight/height for BMI)."""

    quantity: str
    value: float
    when: datetime | None
    ref: str
    order: int
    item9: int | None = None  # PHQ-9 item 9 when the total came from item answers


def convert(quantity: Any, kind: str, where: str, draft: Draft) -> float | None:
    """A Quantity in the canonical unit of ``kind`` (kg, m, mm[Hg], /min, kg/m2), or None
    with a warning when its unit is unknown."""
    if not isinstance(quantity, dict) or quantity.get("value") is None:
        draft.warn(f"{where}: no numeric value; skipped")
        return None
    value = float(quantity["value"])
    table = codes.UNITS[kind]
    code = str(quantity.get("code") or "")
    if quantity.get("system") == codes.UCUM and code in table:
        return value * table[code]
    text = (code or str(quantity.get("unit") or "")).strip()
    if kind == "score" and not text:
        return value
    canonical = codes.UNIT_TEXT.get(text.lower())
    if canonical in table:
        draft.warn(f"{where}: unit {text!r} has no UCUM code; read as {canonical}")
        return value * table[canonical]
    if kind == "score" and text in table:
        return value
    draft.warn(f"{where}: unit {text or '(none)'!r} cannot be read as {kind}; skipped")
    return None


def _node_value(node: dict[str, Any], kind: str, where: str, draft: Draft) -> float | None:
    if kind == "score":
        if "valueInteger" in node:
            return float(node["valueInteger"])
        value = convert(node.get("valueQuantity"), kind, where, draft)
        if value is not None and value != int(value):
            draft.warn(f"{where}: score {value:g} is not a whole number; skipped")
            return None
        return value
    if "valueQuantity" not in node:
        draft.warn(f"{where}: no valueQuantity; skipped")
        return None
    return convert(node["valueQuantity"], kind, where, draft)


def _readings(entry: Entry, order: int, draft: Draft) -> list[Reading]:
    res = entry.resource
    when = effective_time(res, "effectiveDateTime", "effectivePeriod", "effectiveInstant",
                          "issued")
    nodes = [res] + [c for c in res.get("component") or [] if isinstance(c, dict)]
    out = []
    for node in nodes:
        for system, code, _ in codings(node.get("code")):
            if system != codes.LOINC or code not in codes.OBSERVATION_CODES:
                continue
            quantity, kind = codes.OBSERVATION_CODES[code]
            value = _node_value(node, kind, f"{entry.ref} (LOINC {code})", draft)
            if value is not None:
                out.append(Reading(quantity, value, when, entry.ref, order))
            break
    return out


def _pregnancy(entry: Entry) -> bool | None:
    value = entry.resource.get("valueCodeableConcept")
    found = {c for s, c, _ in codings(value) if s == codes.SNOMED}
    if found & codes.PREGNANT_VALUES:
        return True
    if found & codes.NOT_PREGNANT_VALUES:
        return False
    return None


def by_quantity_add(by_quantity: dict[str, list[Reading]], readings: list[Reading]) -> None:
    """Add readings to their quantity's list."""
    for reading in readings:
        by_quantity.setdefault(reading.quantity, []).append(reading)


def _latest(readings: list[Reading]) -> Reading:
    return max(readings, key=lambda r: (r.when or _EARLIEST, r.order))


def _scale_readings(entry: Entry, order: int, index: ReferenceIndex,
                    draft: Draft) -> list[Reading] | None:
    """Readings of a questionnaire (panel Observation or QuestionnaireResponse), or None
    when ``entry`` is neither."""
    scores: list[ScaleScore] = []
    if entry.type == "QuestionnaireResponse":
        scores = questionnaire_scores(entry, draft)
    else:
        panel = next((s for s in SCALES if has_code(entry.resource.get("code"), codes.LOINC,
                                                      s.panel)), None)
        if panel is None:
            return None
        score = panel_score(entry, panel, index, draft)
        scores = [score] if score is not None else []
    for score in scores:
        flag_item9(score, draft)
    return [Reading(s.scale.feature, float(s.total), s.when, s.ref, order, s.item9)
            for s in scores]


def _item9_observation(entry: Entry, draft: Draft) -> None:
    """A PHQ-9 item 9 Observation on its own (44260-8): noted, never silently skipped."""
    score = answer_score(entry.resource)
    if score is None:
        draft.warn(f"{entry.ref}: PHQ-9 item 9 Observation has no 0-3 answer; not read")
        return
    when = effective_time(entry.resource, "effectiveDateTime", "effectivePeriod",
                          "effectiveInstant", "issued")
    note_item9(draft, score, when, entry.ref)


def _latest_item9(draft: Draft) -> None:
    """The newest item 9 answer of any source (``phq9_item9`` and its time) for the
    suicide-risk alert; an undated answer counts as the oldest."""
    readings = draft.extras.get(ITEM9_READINGS) or []
    if readings:
        latest = max(readings, key=lambda r: r["when"] or _EARLIEST)
        draft.extras["phq9_item9"] = latest["value"]
        draft.extras["phq9_item9_at"] = latest["when"]
        draft.extras["phq9_item9_ref"] = latest["ref"]


def map_observations(entries: list[Entry], draft: Draft) -> bool | None:
    """Fill scales, vitals and BMI into ``draft``; return the latest pregnancy status
    observation (True/False) or None, for the condition mapper to combine."""
    by_quantity: dict[str, list[Reading]] = {}
    pregnancy: list[tuple[datetime, int, bool, str]] = []
    index = ReferenceIndex([e for e in entries if e.type == "Observation"])
    for order, entry in enumerate(entries):
        if entry.type not in ("Observation", "QuestionnaireResponse"):
            continue
        if entry.type == "QuestionnaireResponse":
            by_quantity_add(by_quantity, _scale_readings(entry, order, index, draft) or [])
            continue
        status = entry.resource.get("status")
        if status not in codes.OBSERVATION_STATUS_OK:
            log.debug("%s: status %s, skipped", entry.ref, status)
            continue
        if has_code(entry.resource.get("code"), codes.LOINC, PHQ9_ITEM9):
            _item9_observation(entry, draft)
            continue
        if has_code(entry.resource.get("code"), codes.LOINC, codes.PREGNANCY_STATUS):
            flag = _pregnancy(entry)
            if flag is not None:
                when = effective_time(entry.resource, "effectiveDateTime", "effectivePeriod",
                                      "issued")
                pregnancy.append((when or _EARLIEST, order, flag, entry.ref))
            continue
        by_quantity_add(by_quantity, (_scale_readings(entry, order, index, draft) or [])
                        + _readings(entry, order, draft))  # a panel's total components too

    screening = {e.ref for e in entries if any(  # a KAP-CDS export's screening values
        s == INPUT_SYSTEM for s, _, _ in codings(e.resource.get("code")))}
    draft.extras[SCALE_READINGS] = [  # every dated PHQ-9 / GAD-7, for follow-up visits
        {"scale": FOLLOWUP_SCALES[q], "value": r.value, "when": r.when, "ref": r.ref}
        for q in FOLLOWUP_SCALES for r in by_quantity.get(q, [])
        if r.when is not None and r.ref not in screening]
    cutoff = datetime.combine(draft.reference_date, datetime.min.time(), timezone.utc) \
        - timedelta(days=STALE_AFTER_DAYS)
    chosen: dict[str, Reading] = {}
    for quantity, readings in by_quantity.items():
        latest = chosen[quantity] = _latest(readings)
        if len(readings) > 1:
            draft.warn(f"{quantity}: {len(readings)} readings; the latest ({day(latest.when)}, "
                       f"{latest.ref}) is used")
        if latest.when is None or latest.when < cutoff:
            draft.warn(f"{quantity}: the value used ({latest.ref}) is {day(latest.when)}, "
                       f"more than {STALE_AFTER_DAYS} days before {draft.reference_date}")
    for quantity, reading in chosen.items():
        if quantity not in ("body_weight", "body_height"):
            draft.set(quantity, reading.value, [reading.ref])
    draft.extras["observed_at"] = {q: r.when for q, r in chosen.items()
                                   if q in draft.values}
    _latest_item9(draft)
    if "bmi" not in chosen and {"body_weight", "body_height"} <= chosen.keys():
        weight, height = chosen["body_weight"], chosen["body_height"]
        if height.value > 0:
            bmi = weight.value / height.value ** 2
            if draft.set("bmi", bmi, [weight.ref, height.ref]):
                draft.extras["observed_at"]["bmi"] = min(
                    (weight.when, height.when), key=lambda w: w or _EARLIEST)
                draft.warn(f"BMI {bmi:.1f} kg/m² calculated from weight {weight.value:.1f} kg "
                           f"({day(weight.when)}) and height {height.value:.2f} m "
                           f"({day(height.when)})")
    sbp, dbp = draft.values.get("systolic_bp"), draft.values.get("diastolic_bp")
    if sbp is not None and dbp is not None and dbp >= sbp:
        draft.warn(f"diastolic BP {dbp} is not below systolic {sbp}; check the readings")
    if not pregnancy:
        return None
    latest_flag = max(pregnancy)
    draft.evidence["pregnant"] = [latest_flag[3]]
    return latest_flag[2]
