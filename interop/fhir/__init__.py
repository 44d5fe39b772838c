"""FHIR R4: shared code tables and helpers here; ``importer`` reads, ``exporter`` writes.
"""

__all__ = [
    "exporter",
    "importer",
    "codes",
    "inputs",
    "refs",
    "session_codes",
    "strict",
    "terminology",
    "util",
]
