"""The synthetic cohort: a documented structural causal model (patients, sessions,
follow-up) with its effect settings from clinical-reference.md.
"""

__all__ = [
    "cohort_patients",
    "cohort_sessions",
    "dosing",
    "followup",
    "followup_records",
    "generate",
    "settings",
]
