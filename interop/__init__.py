"""FHIR R4 import/export (validated with ``fhir.resources.R4B``) and the printable report.

See ``interop/README.md`` for the mapping table and the public functions.
"""
