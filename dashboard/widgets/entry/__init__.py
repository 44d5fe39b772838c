"""Forms that write: patients, sessions and corrections, follow-up, the REMS monitoring fields,
FHIR upload, one submission token per rendered form.
"""

__all__ = [
    "fhir_panel",
    "followup_form",
    "forms",
    "monitoring_fields",
    "session_correction",
    "session_form",
    "submission",
]
