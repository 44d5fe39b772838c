"""The data contract: the feature schema (single source of truth), validation, strict CSV
input, patient identifiers and located input errors.
"""

__all__ = [
    "arrow_cells",
    "dose_rows",
    "doses",
    "csv_input",
    "directions",
    "features",
    "followup_schema",
    "followup_validation",
    "identifiers",
    "input_errors",
    "schema",
    "validation",
]
