"""Talking to other systems: FHIR R4 in and out, CDS Hooks, printable reports, and the
patient questionnaire app.

See ``interop/README.md`` for the mapping table and the public functions.
"""

__all__ = [
    "cds_hooks",
    "fhir",
    "notify",
    "patient_app",
    "reports",
    "smart",
]
