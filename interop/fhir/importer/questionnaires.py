"""Which PHQ-9 item a QuestionnaireResponse item is, for every form a clinic will meet.

Issue 23: a German MII PHQ-9 response (``linkId`` ``PHQ.1`` … ``PHQ.9``, no LOINC codes)
imported as nothing, dropping total 27 and item 9 = 3 without a word. An item is now known by,
in order: a LOINC code in its ``linkId`` or ``definition`` (LHC-Forms, ``/44249-1/44250-9``);
the linkId schemes of a known PHQ-9 questionnaire, chosen by the response's ``questionnaire``
canonical (the MII module PRO in each of its releases, LOINC's ``http://loinc.org/q/44249-1``,
and any canonical naming PHQ-9); else its text, matched to the PHQ-9 wording in English and
German. Answers: LOINC answer codes LA6568-5 … LA6571-9, an ordinalValue/itemWeight
extension, valueInteger, or the answer wording itself. Nothing is guessed: an item none of
these identifies is reported by the caller, by the response's id.
"""

from __future__ import annotations

import re
from typing import Any

MII_PHQ9 = ("https://www.medizininformatik-initiative.de/fhir/ext/modul-pro/Questionnaire/"
            "mii-qst-pro-phq-9")
LOINC_PHQ9 = "http://loinc.org/q/44249-1"
PHQ9_ITEMS = ("44250-9", "44255-8", "44259-0", "44254-1", "44251-7", "44258-2", "44252-5",
              "44253-3", "44260-8")
PHQ9_TOTAL = "44261-6"

# linkId schemes of PHQ-9 forms (number 1-9 → LOINC item code). MII module PRO: the published
# example (PHQ.1), the questionnaire of 2024-2025 (PHQ-9.1), releases before 2026.5.0
# (phq-phq9-q01) and after (phq-phq2a … phq-phq2i, see its linkId-migration ConceptMap).
_NUMBERED = tuple(re.compile(p, re.I) for p in (
    r"^phq[._]([1-9])$",                   # PHQ.1 (never PHQ-9 itself, a group or total)
    r"^phq-?9[._-]([1-9])$",               # PHQ-9.1, PHQ9.1, phq9_1, phq-9-1
    r"^phq-phq9-q0?([1-9])$",              # phq-phq9-q01
    r"^(?:q|item)[._-]?0?([1-9])$"))       # q1, item_1, q01 (on a PHQ-9 form only)
_LETTERED = re.compile(r"^phq-phq2([a-i])$", re.I)
_TOTALS = frozenset({"phq-phq9-score-total", "phq.score", "phq-9.score", "phq9-total",
                     "phq-9-total", "total", "score"})
_PHQ9_CANONICAL = re.compile(r"phq-?9|phq9|44249-1", re.I)

# Distinctive words of each item's wording (Kroenke 2001; the German PHQ-D as in MII).
_TEXT: tuple[tuple[str, ...], ...] = (
    ("little interest or pleasure", "wenig interesse oder freude"),
    ("feeling down", "depressed, or hopeless", "niedergeschlagenheit"),
    ("falling or staying asleep", "sleeping too much", "durchzuschlafen"),
    ("feeling tired", "little energy", "müdigkeit", "keine energie"),
    ("poor appetite", "overeating", "appetit"),
    ("feeling bad about yourself", "failure", "schlechte meinung von sich", "versager"),
    ("trouble concentrating", "konzentrieren"),
    ("so slowly", "fidgety", "verlangsamt", "zappelig"),
    ("better off dead", "hurting yourself", "lieber tot", "leid zuzufügen", "leid zufügen"),
)
ANSWER_WORDS = {"not at all": 0, "überhaupt nicht": 0, "several days": 1,
                "an einzelnen tagen": 1, "more than half the days": 2,
                "an mehr als der hälfte der tage": 2, "nearly every day": 3,
                "beinahe jeden tag": 3}


def canonical(res: dict[str, Any]) -> str:
    """The response's questionnaire without its ``|version`` (empty when not given)."""
    return str(res.get("questionnaire") or "").split("|", 1)[0].strip()


def is_phq9_form(questionnaire: str) -> bool:
    """True for a known PHQ-9 canonical or one that names PHQ-9 (``…/phq-9``, ``44249-1``)."""
    return questionnaire in (MII_PHQ9, LOINC_PHQ9) or questionnaire.endswith(
        "/mii-qst-pro-phq-9") or bool(_PHQ9_CANONICAL.search(questionnaire))


def by_link_id(link_id: str) -> str | None:
    """The LOINC item (or total) code a PHQ-9 form's own linkId stands for."""
    text = link_id.strip()
    if text.lower() in _TOTALS:
        return PHQ9_TOTAL
    for pattern in _NUMBERED:
        numbered = pattern.match(text)
        if numbered:
            return PHQ9_ITEMS[int(numbered.group(1)) - 1]
    lettered = _LETTERED.match(text)
    if lettered:
        return PHQ9_ITEMS["abcdefghi".index(lettered.group(1).lower())]
    return None


def by_text(text: str) -> str | None:
    """The PHQ-9 item whose wording the text carries (one item only, else None)."""
    lowered = " ".join(text.lower().split())
    hits = [n for n, words in enumerate(_TEXT) if any(w in lowered for w in words)]
    return PHQ9_ITEMS[hits[0]] if len(hits) == 1 else None


def answer_by_words(node: dict[str, Any]) -> int | None:
    """A 0-3 score from the answer's wording (valueString or a coding's display)."""
    texts = [node.get("valueString")]
    coding = node.get("valueCoding")
    if isinstance(coding, dict):
        texts.append(coding.get("display"))
    for text in texts:
        if isinstance(text, str):
            score = ANSWER_WORDS.get(" ".join(text.lower().split()))
            if score is not None:
                return score
    return None
