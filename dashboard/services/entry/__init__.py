"""Writes from the dashboard: patients, sessions, decisions, follow-up, FHIR, CSV.
"""

__all__ = [
    "fhir",
    "followup",
    "form_errors",
    "imports",
    "rems",
    "writes",
]
