"""FHIR R4 import: any input (Bundle, resource, NDJSON, Bulk folder) to schema features,
sessions and follow-up, saved all or nothing through ``records``.
"""

__all__ = [
    "batch",
    "conditions",
    "coverage",
    "followup",
    "followup_visits",
    "med_history",
    "medications",
    "observations",
    "parse",
    "patient",
    "questionnaires",
    "result",
    "scales",
    "sessions",
    "sources",
    "store",
]
