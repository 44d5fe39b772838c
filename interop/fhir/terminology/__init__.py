"""Terminology as data: versioned value sets (JSON, every code with its source) expanded once.

``conditions.json`` defines, per model input fed by diagnoses, the SNOMED CT concepts with
the descendants EHRs send and the ICD-10-CM / ICD-10 codes and ranges; ``medications.json``
the ingredients with RxNorm, ATC and names. ``valuesets`` loads and expands them (ICD-10-CM
descendants through the ``simple_icd_10_cm`` package, offline). Codes an import met that
map to nothing are reported by ``interop.fhir.importer.coverage``.
"""

__all__ = ["valuesets"]
