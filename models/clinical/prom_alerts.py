"""Urgent alerts from patient-reported answers (clinical reference §5 and §6a).

Raised, from the answers alone, when
- PHQ-9 item 9 ("thoughts that you would be better off dead or of hurting yourself") is
  above 0 — the same rule the session alerts apply to a staff-entered PHQ-9;
- the C-SSRS screener is positive: any YES. The screener's triage (Columbia Lighthouse
  Project, "C-SSRS Screener with triage points") grades YES to 1–2 as lower risk, YES to 3
  or behaviour longer ago as moderate, YES to 4, 5 or behaviour within 3 months as high.
  Every grade reaches the clinician as urgent here: the patient answered at home, nobody
  has talked to them yet, and the grade is shown so the clinician can triage.

Kept apart from ``models.clinical.session_alerts`` (staff-entered session data) so both
can change independently. Pure: the store and the screens call it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

URGENT = "urgent"
CRISIS_NOTICE = ("Your answers are not monitored in real time. If you are thinking about "
                 "hurting yourself or ending your life, or you are in danger now, call or "
                 "text the crisis line or your clinic now, or go to the nearest emergency "
                 "department.")


@dataclass(frozen=True)
class UrgentFinding:
    """Why a questionnaire needs a clinician now, in words a clinician reads on Home."""

    reason: str
    grade: str  # "item 9" for PHQ-9; "high" | "moderate" | "lower" for the C-SSRS screener


def cssrs_grade(answers: Mapping[str, int]) -> str | None:
    """The screener's triage grade for these answers (None: every answer NO)."""
    yes = {k for k, v in answers.items() if v == 1}
    if not yes - {"behaviour_3m"}:
        return None
    if {"intent", "plan"} & yes or ("behaviour" in yes and "behaviour_3m" in yes):
        return "high"
    if "method" in yes or "behaviour" in yes:
        return "moderate"
    return "lower"


def urgent_finding(instrument_key: str, answers: Mapping[str, int]) -> UrgentFinding | None:
    """The urgent finding in one submission's checked answers, or None."""
    if instrument_key == "phq9":
        value = answers.get("item9")
        if value is not None and value > 0:
            return UrgentFinding(f"PHQ-9 item 9 answered {value} of 3 (thoughts of being "
                                 "better off dead or of self-harm), patient-reported",
                                 "item 9")
        return None
    if instrument_key == "cssrs":
        grade = cssrs_grade(answers)
        if grade is None:
            return None
        named = ", ".join(k for k, v in answers.items() if v == 1)
        return UrgentFinding(f"C-SSRS screener positive ({grade} risk by the screener's "
                             f"triage; YES to: {named}), patient-reported", grade)
    return None
