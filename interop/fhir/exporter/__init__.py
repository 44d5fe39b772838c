"""FHIR R4 export: a stored patient, its sessions, follow-up and predictions as a Bundle.
"""

__all__ = [
    "bundle",
    "followup",
    "patient",
    "questionnaire",
    "sessions",
    "uscore",
]
