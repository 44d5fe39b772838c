"""All-or-nothing imports into the store: patients and sessions in bulk, FHIR sessions.
"""

__all__ = [
    "bulk",
    "sessions",
]
