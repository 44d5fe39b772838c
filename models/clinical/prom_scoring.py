"""Checking and scoring a patient's answers to one questionnaire.

Every required item must be answered with one of its options: a missing answer is never
scored as 0 (a PHQ-9 with an unanswered item 9 would hide exactly the answer that matters).
The C-SSRS screener's skip rule decides what is required: questions 3–5 after YES to
question 2, "within the past 3 months" after YES to question 6. A patient who answers a
question the rule would have skipped (the form works without JavaScript, so it shows all of
them) keeps that answer: a YES to intent after NO to question 2 is exactly what a clinician
must see, so it is stored and counts for the alert, never dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from models.clinical.prom_instruments import CSSRS_FOLLOW_UPS, Instrument


class AnswerError(ValueError):
    """Answers that cannot be stored; ``problems`` maps item key → what is wrong."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))
        self.problems = problems


@dataclass(frozen=True)
class Scored:
    """Checked answers and what they add up to."""

    answers: dict[str, int]
    total: int
    item9: int | None  # PHQ-9 item 9 (None for other instruments)


def _parse(value: object) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        return -1  # not a number: reported as not one of the options


def _wanted(instrument: Instrument, answers: dict[str, int | None]) -> dict[str, bool]:
    """item key → whether it must be answered (True) or may be (False)."""
    wanted = {i.key: i.required for i in instrument.items}
    if instrument.key == "cssrs":
        for key in CSSRS_FOLLOW_UPS:
            wanted[key] = answers.get("thoughts") == 1
        wanted["behaviour_3m"] = answers.get("behaviour") == 1
    return wanted


def check_answers(instrument: Instrument, raw: Mapping[str, object]) -> Scored:
    """The answers as integers with the total, or ``AnswerError`` naming every problem."""
    known = {i.key for i in instrument.items}
    problems = {k: "not a question of this questionnaire" for k in raw if k not in known}
    parsed = {k: _parse(raw.get(k)) for k in known}
    wanted = _wanted(instrument, parsed)
    answers: dict[str, int] = {}
    for item in instrument.items:
        value = parsed[item.key]
        allowed = {v for v, _ in item.options}
        if value is None:
            if wanted[item.key]:
                problems[item.key] = "please answer this question"
            continue
        if value not in allowed:
            problems[item.key] = f"choose one of the answers offered ({sorted(allowed)})"
            continue
        answers[item.key] = value
    if problems:
        raise AnswerError(problems)
    total = sum(v for k, v in answers.items() if instrument.item(k).scored
                and k != "behaviour_3m")
    item9 = answers.get("item9") if instrument.key == "phq9" else None
    return Scored(answers, total, item9)
