"""PHQ-9 and GAD-7 totals from LOINC panels and from QuestionnaireResponse item answers.

Standard scoring: every item scores 0-3 (LOINC answer list LL358-3: LA6568-5 "Not at all"
0, LA6569-3 "Several days" 1, LA6570-1 "More than half the days" 2, LA6571-9 "Nearly
every day" 3); the total is the sum of all items (PHQ-9: 9 items, 0-27; GAD-7: 7 items,
0-21). A total is computed only when every item is answered: a missing item is never
guessed. PHQ-9 item 9 (44260-8, thoughts of death or self-harm) is kept with the score
and a positive answer is flagged for review.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from interop.fhir import codes
from interop.fhir.importer import questionnaires as forms
from interop.fhir.importer.parse import Entry
from interop.fhir.refs import ReferenceIndex
from interop.fhir.util import Draft, codings, day, effective_time


@dataclass(frozen=True)
class Scale:
    """One questionnaire: its panel and total codes, item codes in order, schema feature."""

    name: str
    feature: str
    panel: str
    total: str
    items: tuple[str, ...]


PHQ9 = Scale("PHQ-9", "phq9_baseline", "44249-1", "44261-6",
             ("44250-9", "44255-8", "44259-0", "44254-1", "44251-7", "44258-2", "44252-5",
              "44253-3", "44260-8"))
GAD7 = Scale("GAD-7", "gad7_baseline", "69737-5", "70274-6",
             ("69725-0", "68509-9", "69733-4", "69734-2", "69735-9", "69689-8", "69736-7"))
SCALES = (PHQ9, GAD7)
PHQ9_ITEM9 = PHQ9.items[8]
ANSWER_SCORES = {"LA6568-5": 0, "LA6569-3": 1, "LA6570-1": 2, "LA6571-9": 3}
QR_COMPLETE = frozenset({"completed", "amended"})
_LOINC_CODE = re.compile(r"\d{4,5}-\d")
_ORDINAL_URLS = ("http://hl7.org/fhir/StructureDefinition/ordinalValue",
                 "http://hl7.org/fhir/StructureDefinition/iso21090-CO-value",
                 "http://hl7.org/fhir/StructureDefinition/itemWeight")
ITEM9_READINGS = "phq9_item9_readings"  # draft.extras: every item 9 answer read, any source


@dataclass(frozen=True)
class ScaleScore:
    """A total read or computed from one resource (``item9`` only for PHQ-9 items)."""

    scale: Scale
    total: int
    when: datetime | None
    ref: str
    item9: int | None = None


def answer_score(node: dict[str, Any]) -> int | None:
    """The 0-3 score of one answer (an Observation or a QuestionnaireResponse answer)."""
    if isinstance(node.get("valueInteger"), int):
        return node["valueInteger"] if 0 <= node["valueInteger"] <= 3 else None
    quantity = node.get("valueQuantity")
    if isinstance(quantity, dict) and isinstance(quantity.get("value"), int | float):
        value = float(quantity["value"])
        return int(value) if value.is_integer() and 0 <= value <= 3 else None
    concept = node.get("valueCodeableConcept")
    coding_nodes = list((concept or {}).get("coding") or []) if isinstance(concept, dict) \
        else []
    if isinstance(node.get("valueCoding"), dict):
        coding_nodes.append(node["valueCoding"])
    for coding in [node, *coding_nodes]:
        for ext in coding.get("extension") or []:
            weight = ext.get("valueDecimal") if isinstance(ext, dict) else None
            if ext.get("url") in _ORDINAL_URLS and isinstance(weight, int | float):
                return int(weight) if float(weight).is_integer() and 0 <= weight <= 3 else None
        if isinstance(coding.get("code"), str) and coding["code"] in ANSWER_SCORES:
            return ANSWER_SCORES[coding["code"]]
    return forms.answer_by_words(node)


def _total(scale: Scale, answers: dict[str, int | None], stated: int | None, ref: str,
           when: datetime | None, draft: Draft) -> ScaleScore | None:
    """Sum the items (all must be scored); otherwise the stated total, if any."""
    unscored = [str(n) for n, code in enumerate(scale.items, start=1)
                if answers.get(code) is None]
    item9 = answers.get(PHQ9_ITEM9) if scale is PHQ9 else None
    if answers and not unscored:
        total = sum(int(answers[c]) for c in scale.items)  # type: ignore[arg-type]
        if stated is not None and stated != total:
            draft.warn(f"{ref}: {scale.name} total {stated} differs from the sum of its "
                       f"items ({total}); the sum is used")
        return ScaleScore(scale, total, when, ref, item9)
    if answers and stated is None:
        draft.warn(f"{ref}: {scale.name} item(s) {', '.join(unscored)} unanswered or not "
                   "scorable; no total computed")
    if stated is not None:
        return ScaleScore(scale, stated, when, ref, item9)
    return None


def _scale_of_code(code: str) -> tuple[Scale, str] | None:
    for scale in SCALES:
        if code in scale.items:
            return scale, code
        if code in (scale.total, scale.panel):
            return scale, code
    return None


def panel_score(entry: Entry, scale: Scale, index: ReferenceIndex,
                draft: Draft) -> ScaleScore | None:
    """A panel Observation's total: its own value, else the sum of its member or
    component item answers. A total given as a component or a member Observation is
    read on its own (by the Observation mapper), so it is not counted here again."""
    res = entry.resource
    when = effective_time(res, "effectiveDateTime", "effectivePeriod", "effectiveInstant",
                          "issued")
    stated = answer_total(res)
    if stated is not None:
        return ScaleScore(scale, stated, when, entry.ref)
    nodes = [c for c in res.get("component") or [] if isinstance(c, dict)]
    for member in res.get("hasMember") or []:
        target = index.resolve((member or {}).get("reference"), entry)
        if target is None:
            draft.warn(f"{entry.ref}: member {(member or {}).get('reference')!r} is not in "
                       "the import; not read")
        elif target.resource.get("status") in codes.OBSERVATION_STATUS_OK:
            nodes.append(target.resource)
    answers: dict[str, int | None] = {}
    for node in nodes:
        for system, code, _ in codings(node.get("code")):
            if system != codes.LOINC:
                continue
            if code == scale.total:
                return None  # read as its own 44261-6 / 70274-6 reading
            if code in scale.items:
                answers[code] = answer_score(node)
    return _total(scale, answers, None, entry.ref, when, draft)


def answer_total(node: dict[str, Any]) -> int | None:
    """A stated whole-number total (valueInteger or a unitless/score valueQuantity)."""
    if isinstance(node.get("valueInteger"), int):
        return int(node["valueInteger"])
    quantity = node.get("valueQuantity")
    if isinstance(quantity, dict) and isinstance(quantity.get("value"), int | float) \
            and float(quantity["value"]).is_integer():
        return int(quantity["value"])
    return None


def _walk(items: list[Any]) -> list[dict[str, Any]]:
    out = []
    for item in items or []:
        if not isinstance(item, dict):
            continue
        out.append(item)
        out += _walk(item.get("item") or [])
        for answer in item.get("answer") or []:
            out += _walk((answer or {}).get("item") or [])
    return out


def _item_code(item: dict[str, Any]) -> str | None:
    """The LOINC code an item carries in its linkId (``/44249-1/44250-9``) or definition."""
    for text in (str(item.get("linkId") or ""), str(item.get("definition") or "")):
        found = _LOINC_CODE.findall(text)
        if found:
            return found[-1]
    return None


TEXT_MIN_ITEMS = 5  # wording identifies items only in a PHQ-9-shaped response (or item 9)


def _by_code_or_link(item: dict[str, Any], phq9_form: bool) -> tuple[Scale, str] | None:
    """The scale and LOINC code of a response item: a LOINC code in its linkId/definition,
    else the PHQ-9 form's own linkId."""
    code = _item_code(item)
    found = _scale_of_code(code) if code else None
    if found is None and phq9_form:
        code = forms.by_link_id(str(item.get("linkId") or ""))
        found = (PHQ9, code) if code else None
    return found


def _identified(items: list[dict[str, Any]], phq9_form: bool
                ) -> list[tuple[dict[str, Any], tuple[Scale, str]]]:
    """Each identifiable item with its scale and code. The PHQ-9 wording counts when it
    identifies at least ``TEXT_MIN_ITEMS`` items (another questionnaire sharing a phrase such
    as "appetite" is not read as PHQ-9), and always for item 9: a suicide item is never
    dropped."""
    coded = [(item, _by_code_or_link(item, phq9_form)) for item in items]
    worded = {id(item): forms.by_text(item["text"]) for item, found in coded
              if found is None and isinstance(item.get("text"), str)}
    enough = len({c for c in worded.values() if c}) >= TEXT_MIN_ITEMS
    out = []
    for item, found in coded:
        code = worded.get(id(item))
        if found is None and code and (enough or code == PHQ9_ITEM9):
            found = (PHQ9, code)
        if found is not None:
            out.append((item, found))
    return out


def _why(answer: dict[str, Any] | None) -> str:
    if answer is None:
        return "no answer"
    value = next((f"{k} {str(v)[:40]!r}" for k, v in answer.items() if k.startswith("value")),
                 "no value")
    return f"{value} is not a 0-3 score (LOINC LA6568-5…LA6571-9, an ordinal value or 0-3)"


def questionnaire_scores(entry: Entry, draft: Draft) -> list[ScaleScore]:
    """PHQ-9 / GAD-7 totals of a completed QuestionnaireResponse (items identified as in
    ``interop.fhir.importer.questionnaires``); a response that yields nothing is named in a
    warning with the reason, never dropped silently. Item 9 is noted even without a total."""
    res = entry.resource
    form = forms.canonical(res)
    named = f"{entry.ref} (questionnaire {form or 'not named'})"
    if res.get("status") not in QR_COMPLETE:
        draft.warn(f"{named}: QuestionnaireResponse status {res.get('status')!r}; "
                   "only completed or amended responses are scored")
        return []
    when = effective_time(res, "authored")
    answers: dict[Scale, dict[str, int | None]] = {}
    stated: dict[Scale, int | None] = {}
    items = _walk(res.get("item") or [])
    answered = sum(any(isinstance(a, dict) for a in i.get("answer") or []) for i in items)
    for item, (scale, code) in _identified(items, forms.is_phq9_form(form)):
        first = next((a for a in item.get("answer") or [] if isinstance(a, dict)), None)
        if code == scale.total:
            stated[scale] = answer_total(first) if first else None
        elif code in scale.items:
            score = answer_score(first) if first else None
            if score is None:
                draft.warn(f"{named}: {scale.name} item {scale.items.index(code) + 1} "
                           f"(linkId {str(item.get('linkId'))[:40]!r}): {_why(first)}")
            answers.setdefault(scale, {})[code] = score
    if PHQ9 in answers and answers[PHQ9].get(PHQ9_ITEM9) is not None:
        note_item9(draft, int(answers[PHQ9][PHQ9_ITEM9]), when, entry.ref)  # type: ignore[arg-type]
    out = []
    for scale in SCALES:
        if scale in answers or stated.get(scale) is not None:
            score = _total(scale, answers.get(scale, {}), stated.get(scale), entry.ref, when,
                           draft)
            if score is not None:
                out.append(score)
    if not answers and not stated:
        draft.warn(f"{named}: could not be read: none of its {answered} answered item(s) is "
                   "a PHQ-9 or GAD-7 item (no LOINC item code, no linkId of a known PHQ-9 "
                   "questionnaire, no PHQ-9 wording); nothing was imported from it")
    return out


def note_item9(draft: Draft, value: int, when: datetime | None, ref: str) -> None:
    """Keep every PHQ-9 item 9 answer read (any source) and flag a positive one for the
    clinician (the suicide-risk alert; never turned into a diagnosis)."""
    readings = draft.extras.setdefault(ITEM9_READINGS, [])
    if any(r["value"] == value and r["when"] == when for r in readings):
        return  # the same answer met twice (a panel and its member Observation)
    readings.append({"value": value, "when": when, "ref": ref})
    if value > 0:
        draft.warn(f"{ref}: PHQ-9 item 9 (thoughts of death or self-harm) scored {value} on "
                   f"{day(when)}: review suicide risk; suicidality is not set from a "
                   "questionnaire item")


def flag_item9(score: ScaleScore, draft: Draft) -> None:
    """Note a score's item 9 answer (``note_item9``)."""
    if score.item9 is not None:
        note_item9(draft, int(score.item9), score.when, score.ref)
